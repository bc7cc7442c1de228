"""Sessions table: one short query per operation."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from portal_web.domain.session import Session, Tokens, id_hash

_COLUMNS = (
    "csrf_token, language, access_token, refresh_token, access_expires_at, flash, "
    "created_at, last_seen_at, expires_at"
)


async def insert(conn: asyncpg.Pool | asyncpg.Connection, session: Session) -> None:
    tokens = session.tokens
    await conn.execute(
        f"INSERT INTO sessions (id_hash, {_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        id_hash(session.id), session.csrf_token, session.language,
        tokens.access_token if tokens else None, tokens.refresh_token if tokens else None,
        tokens.access_expires_at if tokens else None, _flash(session.flash),
        session.created_at, session.last_seen_at, session.expires_at,
    )


async def find(conn: asyncpg.Pool | asyncpg.Connection, session_id: str) -> Session | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM sessions WHERE id_hash = $1", id_hash(session_id))
    return _session(session_id, row)


async def find_for_update(conn: asyncpg.Connection, session_id: str) -> Session | None:
    """The session, locked until the transaction ends (one token refresh at a time)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM sessions WHERE id_hash = $1 FOR UPDATE", id_hash(session_id)
    )
    return _session(session_id, row)


def _session(session_id: str, row: asyncpg.Record | None) -> Session | None:
    if row is None:
        return None
    tokens = None
    if row["refresh_token"] is not None:
        tokens = Tokens(row["access_token"], row["refresh_token"], row["access_expires_at"])
    return Session(
        id=session_id,
        csrf_token=row["csrf_token"],
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
        language=row["language"],
        tokens=tokens,
        flash=json.loads(row["flash"]) if row["flash"] else None,
    )


async def touch(conn: asyncpg.Pool | asyncpg.Connection, session_id: str, now: datetime) -> None:
    await conn.execute("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1", id_hash(session_id), now)


async def store_tokens(conn: asyncpg.Pool | asyncpg.Connection, session_id: str, tokens: Tokens) -> None:
    await conn.execute(
        "UPDATE sessions SET access_token = $2, refresh_token = $3, access_expires_at = $4 "
        "WHERE id_hash = $1",
        id_hash(session_id), tokens.access_token, tokens.refresh_token, tokens.access_expires_at,
    )


async def set_language(conn: asyncpg.Pool | asyncpg.Connection, session_id: str, language: str) -> None:
    await conn.execute("UPDATE sessions SET language = $2 WHERE id_hash = $1", id_hash(session_id), language)


async def set_flash(
    conn: asyncpg.Pool | asyncpg.Connection, session_id: str, flash: dict[str, Any] | None
) -> None:
    await conn.execute("UPDATE sessions SET flash = $2 WHERE id_hash = $1", id_hash(session_id), _flash(flash))


async def delete(conn: asyncpg.Pool | asyncpg.Connection, session_id: str) -> None:
    await conn.execute("DELETE FROM sessions WHERE id_hash = $1", id_hash(session_id))


async def purge_ended(
    conn: asyncpg.Pool | asyncpg.Connection, expired_before: datetime, idle_before: datetime
) -> int:
    result = await conn.execute(
        "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2", expired_before, idle_before
    )
    return int(result.split()[-1])


def _flash(flash: dict[str, Any] | None) -> str | None:
    return json.dumps(flash) if flash else None
