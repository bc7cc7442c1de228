"""Accounts, their passwords (with history) and roles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from portal_auth.domain.accounts import Account, AccountStatus
from portal_shared.db import Executor

LOCK_KEY = "SELECT pg_advisory_xact_lock(hashtext($1))"
# Every query that answers with accounts selects these columns: one shape, `Account`.
ACCOUNT_COLUMNS = """
SELECT a.id, a.status, a.customer_number, a.email, a.email_key, a.locale, c.last_name,
       a.password_hash, a.created_at, a.activated_at, a.registered_with_code
FROM accounts a JOIN customers c USING (customer_number)
"""
ACCOUNTS_HOLDING = ACCOUNT_COLUMNS + """
WHERE a.customer_number = $1 OR a.email_key = $2
FOR UPDATE OF a
"""
# Every account of one customer number, oldest first: pending ones waiting side by side,
# at most one active.
HOLDERS_OF_CUSTOMER = ACCOUNT_COLUMNS + """
WHERE a.customer_number = $1
ORDER BY a.created_at, a.id
FOR UPDATE OF a
"""
DELETE_ACCOUNTS = "DELETE FROM accounts WHERE id = ANY($1::uuid[])"
HOLDING_EMAIL = ACCOUNT_COLUMNS + "WHERE a.email_key = $1 FOR UPDATE OF a"
CHANGE_EMAIL = "UPDATE accounts SET email = $2, email_key = $3 WHERE id = $1"
INSERT_PENDING = """
INSERT INTO accounts (id, customer_number, email, email_key, password_hash, locale, status,
                      created_at, terms_version, privacy_version, consented_at, registered_with_code)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $7, $10)
"""
# The account an activation token belongs to (read without locks: activation locks its
# keys first, then claims the token).
ACTIVATION_CANDIDATE = ACCOUNT_COLUMNS + """
WHERE a.id = (SELECT t.account_id FROM activation_tokens t WHERE t.token_hash = $1)
"""
ACTIVATE = "UPDATE accounts SET status = 'active', activated_at = $2 WHERE id = $1"
FIND_BY_EMAIL = ACCOUNT_COLUMNS + "WHERE a.email_key = $1"
# Keeps the row from being deleted (or its key changed) until the transaction ends,
# without blocking an activation, which only updates it.
FIND_BY_EMAIL_KEEPING = FIND_BY_EMAIL + " FOR KEY SHARE OF a"
STATUS = "SELECT status FROM accounts WHERE id = $1"
FIND_BY_ID = ACCOUNT_COLUMNS + "WHERE a.id = $1"
FIND_ACTIVE_BY_CUSTOMER_AND_EMAIL = (
    ACCOUNT_COLUMNS + "WHERE a.customer_number = $1 AND a.email_key = $2 AND a.status = 'active'"
)
UPDATE_PASSWORD_HASH = "UPDATE accounts SET password_hash = $2 WHERE id = $1"
ADD_HISTORY = "INSERT INTO password_history (account_id, password_hash, created_at) VALUES ($1, $2, $3)"
RECENT_HASHES = """
SELECT password_hash FROM password_history WHERE account_id = $1 ORDER BY id DESC LIMIT $2
"""
TRIM_HISTORY = """
DELETE FROM password_history WHERE account_id = $1 AND id < (
    SELECT min(id) FROM (
        SELECT id FROM password_history WHERE account_id = $1 ORDER BY id DESC LIMIT $2) AS kept)
"""
DELETE_ACCOUNT = "DELETE FROM accounts WHERE id = $1"
ROLES = "SELECT role FROM account_roles WHERE account_id = $1 ORDER BY role"
GRANT_ROLE = """
INSERT INTO account_roles (account_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING
"""
REVOKE_ROLE = "DELETE FROM account_roles WHERE account_id = $1 AND role = $2"
PURGE_EXPIRED_PENDING = """
DELETE FROM accounts a
WHERE a.status = 'pending'
  AND NOT EXISTS (SELECT 1 FROM activation_tokens t WHERE t.account_id = a.id AND t.expires_at > $1)
"""


async def lock_keys(conn: Executor, *keys: str) -> None:
    """Serialise writers touching the same customer number or e-mail address."""
    for key in sorted(set(keys)):  # a fixed order, so two writers cannot deadlock
        await conn.execute(LOCK_KEY, key)


async def accounts_holding(conn: Executor, customer_number: str, email_key: str) -> list[Account]:
    return [_account(r) for r in await conn.fetch(ACCOUNTS_HOLDING, customer_number, email_key)]


async def holders_of_customer(conn: Executor, customer_number: str) -> list[Account]:
    return [_account(r) for r in await conn.fetch(HOLDERS_OF_CUSTOMER, customer_number)]


async def holding_email(conn: Executor, email_key: str) -> list[Account]:
    return [_account(r) for r in await conn.fetch(HOLDING_EMAIL, email_key)]


async def change_email(conn: Executor, account_id: UUID, email: str, email_key: str) -> None:
    await conn.execute(CHANGE_EMAIL, account_id, email, email_key)


async def delete_accounts(conn: Executor, account_ids: Sequence[UUID]) -> None:
    await conn.execute(DELETE_ACCOUNTS, list(account_ids))


async def insert_pending(
    conn: Executor, account_id: UUID, customer_number: str, email: str, email_key: str,
    password_hash: str, locale: str, now: datetime, terms_version: str, privacy_version: str,
    registered_with_code: bool = False,
) -> None:
    await conn.execute(
        INSERT_PENDING, account_id, customer_number, email, email_key, password_hash, locale,
        now, terms_version, privacy_version, registered_with_code,
    )


async def activation_candidate(conn: Executor, token_hash: bytes) -> Account | None:
    return _maybe_account(await conn.fetchrow(ACTIVATION_CANDIDATE, token_hash))


async def activate(conn: Executor, account_id: UUID, now: datetime) -> None:
    await conn.execute(ACTIVATE, account_id, now)


async def find_by_email(conn: Executor, email_key: str) -> Account | None:
    return _maybe_account(await conn.fetchrow(FIND_BY_EMAIL, email_key))


async def find_by_email_keeping(conn: Executor, email_key: str) -> Account | None:
    return _maybe_account(await conn.fetchrow(FIND_BY_EMAIL_KEEPING, email_key))


async def status_of(conn: Executor, account_id: UUID) -> AccountStatus | None:
    status = await conn.fetchval(STATUS, account_id)
    return None if status is None else AccountStatus(status)


async def find_by_id(conn: Executor, account_id: UUID) -> Account | None:
    return _maybe_account(await conn.fetchrow(FIND_BY_ID, account_id))


async def find_active_by_customer_and_email(
    conn: Executor, customer_number: str, email_key: str
) -> Account | None:
    return _maybe_account(await conn.fetchrow(FIND_ACTIVE_BY_CUSTOMER_AND_EMAIL, customer_number, email_key))


async def rehash_password(conn: Executor, account_id: UUID, password_hash: str) -> None:
    """Same password, stronger parameters: the history keeps its old entry."""
    await conn.execute(UPDATE_PASSWORD_HASH, account_id, password_hash)


async def set_password(
    conn: Executor, account_id: UUID, password_hash: str, now: datetime, keep: int
) -> None:
    await conn.execute(UPDATE_PASSWORD_HASH, account_id, password_hash)
    await add_history(conn, account_id, password_hash, now, keep)


async def add_history(conn: Executor, account_id: UUID, password_hash: str, now: datetime, keep: int) -> None:
    await conn.execute(ADD_HISTORY, account_id, password_hash, now)
    await conn.execute(TRIM_HISTORY, account_id, keep)


async def recent_password_hashes(conn: Executor, account_id: UUID, count: int) -> list[str]:
    return [r["password_hash"] for r in await conn.fetch(RECENT_HASHES, account_id, count)]


async def delete_account(conn: Executor, account_id: UUID) -> None:
    await conn.execute(DELETE_ACCOUNT, account_id)


async def roles_of(conn: Executor, account_id: UUID) -> tuple[str, ...]:
    return tuple(r["role"] for r in await conn.fetch(ROLES, account_id))


async def grant_role(conn: Executor, account_id: UUID, role: str) -> None:
    await conn.execute(GRANT_ROLE, account_id, role)


async def revoke_role(conn: Executor, account_id: UUID, role: str) -> None:
    await conn.execute(REVOKE_ROLE, account_id, role)


async def purge_expired_pending(conn: Executor, expired_before: datetime) -> int:
    status = await conn.execute(PURGE_EXPIRED_PENDING, expired_before)
    return int(status.split()[-1])


def _account(row: asyncpg.Record) -> Account:
    return Account(
        id=row["id"], status=AccountStatus(row["status"]), customer_number=row["customer_number"],
        email=row["email"], email_key=row["email_key"], locale=row["locale"],
        last_name=row["last_name"], password_hash=row["password_hash"], created_at=row["created_at"],
        activated_at=row["activated_at"], registered_with_code=row["registered_with_code"],
    )


def _maybe_account(row: asyncpg.Record | None) -> Account | None:
    return None if row is None else _account(row)
