"""Mailed single-use tokens (activation, password reset), stored as their SHA-256."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from portal_auth.domain.tokens import MailedLink
from portal_shared.db import Executor

Kind = Literal["activation", "reset"]
_TABLE = {"activation": "activation_tokens", "reset": "reset_tokens"}


def _sql(kind: Kind, template: str) -> str:
    return template.format(table=_TABLE[kind])


INSERT = "INSERT INTO {table} (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
CLAIM = "SELECT account_id, expires_at, used_at FROM {table} WHERE token_hash = $1 FOR UPDATE"
USE = "UPDATE {table} SET used_at = $2 WHERE token_hash = $1"
DELETE_UNUSED_FOR = "DELETE FROM {table} WHERE account_id = $1 AND used_at IS NULL"
PURGE = "DELETE FROM {table} WHERE expires_at < $1"


async def insert(
    conn: Executor, kind: Kind, token_hash: bytes, account_id: UUID, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(_sql(kind, INSERT), token_hash, account_id, now, expires_at)


async def claim(conn: Executor, kind: Kind, token_hash: bytes) -> MailedLink | None:
    """The token's row, locked until the transaction ends."""
    row = await conn.fetchrow(_sql(kind, CLAIM), token_hash)
    return None if row is None else MailedLink(**row)


async def use(conn: Executor, kind: Kind, token_hash: bytes, now: datetime) -> None:
    await conn.execute(_sql(kind, USE), token_hash, now)


async def void_unused(conn: Executor, kind: Kind, account_id: UUID) -> None:
    """A newer link replaces the older ones."""
    await conn.execute(_sql(kind, DELETE_UNUSED_FOR), account_id)


async def purge(conn: Executor, kind: Kind, expired_before: datetime) -> None:
    await conn.execute(_sql(kind, PURGE), expired_before)
