"""SQL of the auth service. Functions take a connection so the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from portal_auth.domain.customer_import import CustomerRow

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


# --- customers ---------------------------------------------------------------------

FIND_CUSTOMER = "SELECT customer_number, last_name FROM customers WHERE customer_number = $1"
COUNT_CUSTOMERS = "SELECT count(*) FROM customers"
UPSERT_CUSTOMERS = """
INSERT INTO customers AS c (customer_number, last_name)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (customer_number) DO UPDATE
    SET last_name = EXCLUDED.last_name, updated_at = now()
    WHERE c.last_name IS DISTINCT FROM EXCLUDED.last_name
RETURNING (xmax = 0) AS inserted
"""


async def find_customer(conn: Conn, customer_number: str) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND_CUSTOMER, customer_number)


async def count_customers(conn: Conn) -> int:
    return await conn.fetchval(COUNT_CUSTOMERS)


@dataclass(frozen=True)
class UpsertCounts:
    added: int
    updated: int
    unchanged: int


async def upsert_customers(conn: Conn, rows: Sequence[CustomerRow]) -> UpsertCounts:
    returned = await conn.fetch(
        UPSERT_CUSTOMERS, [r.customer_number for r in rows], [r.last_name for r in rows]
    )
    added = sum(1 for r in returned if r["inserted"])
    updated = len(returned) - added
    return UpsertCounts(added, updated, len(rows) - added - updated)


# --- accounts ----------------------------------------------------------------------

LOCK_REGISTRATION_KEY = "SELECT pg_advisory_xact_lock(hashtext($1))"
ACCOUNTS_HOLDING = """
SELECT id, status, customer_number, email_key FROM accounts
WHERE customer_number = $1 OR email_key = $2
FOR UPDATE
"""
DELETE_ACCOUNTS = "DELETE FROM accounts WHERE id = ANY($1::uuid[])"
INSERT_ACCOUNT = """
INSERT INTO accounts (id, customer_number, email, email_key, password_hash, locale, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)
"""
ACTIVATE_ACCOUNT = "UPDATE accounts SET status = 'active', activated_at = $2 WHERE id = $1"
FIND_LOGIN = "SELECT id, password_hash, status FROM accounts WHERE email_key = $1"
UPDATE_PASSWORD_HASH = "UPDATE accounts SET password_hash = $2 WHERE id = $1"
FIND_PROFILE = """
SELECT a.customer_number, c.last_name, a.email, a.created_at
FROM sessions s
JOIN accounts a ON a.id = s.account_id
JOIN customers c ON c.customer_number = a.customer_number
WHERE s.id = $1 AND s.account_id = $2 AND s.ended_at IS NULL AND a.status = 'active'
"""


async def lock_registration_keys(conn: Conn, *keys: str) -> None:
    """Serialise registrations touching the same customer number or e-mail address."""
    for key in sorted(set(keys)):  # a fixed order, so two registrations cannot deadlock
        await conn.execute(LOCK_REGISTRATION_KEY, key)


async def accounts_holding(conn: Conn, customer_number: str, email_key: str) -> list[asyncpg.Record]:
    return await conn.fetch(ACCOUNTS_HOLDING, customer_number, email_key)


async def delete_accounts(conn: Conn, account_ids: Sequence[UUID]) -> None:
    await conn.execute(DELETE_ACCOUNTS, list(account_ids))


async def insert_pending_account(
    conn: Conn, account_id: UUID, customer_number: str, email: str, email_key: str,
    password_hash: str, locale: str, now: datetime,
) -> None:
    await conn.execute(
        INSERT_ACCOUNT, account_id, customer_number, email, email_key, password_hash, locale, now
    )


async def activate_account(conn: Conn, account_id: UUID, now: datetime) -> None:
    await conn.execute(ACTIVATE_ACCOUNT, account_id, now)


async def find_login(conn: Conn, email_key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND_LOGIN, email_key)


async def update_password_hash(conn: Conn, account_id: UUID, password_hash: str) -> None:
    await conn.execute(UPDATE_PASSWORD_HASH, account_id, password_hash)


async def find_profile(conn: Conn, session_id: UUID, account_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND_PROFILE, session_id, account_id)


# --- activation tokens -------------------------------------------------------------

INSERT_ACTIVATION_TOKEN = """
INSERT INTO activation_tokens (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
"""
CLAIM_ACTIVATION_TOKEN = """
SELECT t.account_id, t.expires_at, t.used_at
FROM activation_tokens t
WHERE t.token_hash = $1
FOR UPDATE
"""
USE_ACTIVATION_TOKEN = "UPDATE activation_tokens SET used_at = $2 WHERE token_hash = $1"


async def insert_activation_token(
    conn: Conn, token_hash: bytes, account_id: UUID, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(INSERT_ACTIVATION_TOKEN, token_hash, account_id, now, expires_at)


async def claim_activation_token(conn: Conn, token_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(CLAIM_ACTIVATION_TOKEN, token_hash)


async def use_activation_token(conn: Conn, token_hash: bytes, now: datetime) -> None:
    await conn.execute(USE_ACTIVATION_TOKEN, token_hash, now)


# --- sessions ----------------------------------------------------------------------

INSERT_SESSION = "INSERT INTO sessions (id, account_id, created_at) VALUES ($1, $2, $3)"
INSERT_REFRESH_TOKEN = """
INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
"""


async def insert_session(
    conn: Conn, session_id: UUID, account_id: UUID, now: datetime,
    refresh_hash: bytes, refresh_expires_at: datetime,
) -> None:
    await conn.execute(INSERT_SESSION, session_id, account_id, now)
    await conn.execute(INSERT_REFRESH_TOKEN, refresh_hash, session_id, now, refresh_expires_at)
