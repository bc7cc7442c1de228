"""Pending changes of an account's address: the token mailed to the new address,
stored as its SHA-256 with the address it confirms."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from portal_auth.domain.tokens import EmailChangeLink
from portal_shared.db import Executor

INSERT = """
INSERT INTO email_change_tokens (token_hash, account_id, new_email, new_email_key, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
"""
ADDRESS_KEY = "SELECT new_email_key FROM email_change_tokens WHERE token_hash = $1"
CLAIM = """
SELECT account_id, new_email, new_email_key, expires_at, used_at
FROM email_change_tokens WHERE token_hash = $1 FOR UPDATE
"""
USE = "UPDATE email_change_tokens SET used_at = $2 WHERE token_hash = $1"
DELETE_UNUSED_FOR = "DELETE FROM email_change_tokens WHERE account_id = $1 AND used_at IS NULL"
PURGE = "DELETE FROM email_change_tokens WHERE expires_at < $1"


async def insert(
    conn: Executor, token_hash: bytes, account_id: UUID, new_email: str, new_email_key: str,
    now: datetime, expires_at: datetime,
) -> None:
    await conn.execute(INSERT, token_hash, account_id, new_email, new_email_key, now, expires_at)


async def address_key_of(conn: Executor, token_hash: bytes) -> str | None:
    """The address a token would confirm, read without a lock (to lock the address first)."""
    return await conn.fetchval(ADDRESS_KEY, token_hash)


async def claim(conn: Executor, token_hash: bytes) -> EmailChangeLink | None:
    """The token's row, locked until the transaction ends."""
    row = await conn.fetchrow(CLAIM, token_hash)
    return None if row is None else EmailChangeLink(**row)


async def use(conn: Executor, token_hash: bytes, now: datetime) -> None:
    await conn.execute(USE, token_hash, now)


async def void_unused(conn: Executor, account_id: UUID) -> None:
    """A newer request, or the change itself, voids the other links."""
    await conn.execute(DELETE_UNUSED_FOR, account_id)


async def purge(conn: Executor, expired_before: datetime) -> None:
    await conn.execute(PURGE, expired_before)
