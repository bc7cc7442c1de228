"""Sessions and their rotating refresh tokens (one session = one refresh-token family)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from portal_auth.domain.devices import StoredSession
from portal_auth.domain.session_lifetime import RefreshToken
from portal_shared.db import Executor

# The answer of both: the account's roles now, for the access token issued with them.
CURRENT_ROLES = """
SELECT coalesce(array_agg(role ORDER BY role), '{}') FROM account_roles WHERE account_id = $2
"""
# A login: the session and its first refresh token, in one round trip.
OPEN_SESSION = """
WITH opened AS (
    INSERT INTO sessions (id, account_id, created_at, last_used_at, user_agent, place)
    VALUES ($1, $2, $3, $3, $6, $7)
    RETURNING id
), first_token AS (
    INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at)
    SELECT $4, id, $3, $5 FROM opened
)
""" + CURRENT_ROLES
TOUCH = "UPDATE sessions SET last_used_at = $2, place = $3 WHERE id = $1"
LIST_OPEN = """
SELECT s.id, s.user_agent, s.place, s.created_at, coalesce(s.last_used_at, s.created_at) AS last_used_at
FROM sessions s
WHERE s.account_id = $1 AND s.ended_at IS NULL AND s.created_at > $2
  AND EXISTS (SELECT 1 FROM refresh_tokens r
              WHERE r.session_id = s.id AND r.used_at IS NULL AND r.expires_at > $3)
ORDER BY last_used_at DESC, s.created_at DESC
"""
END_OWN = """
UPDATE sessions SET ended_at = $3 WHERE id = $1 AND account_id = $2 AND ended_at IS NULL RETURNING id
"""
ADD_REFRESH = """
WITH added AS (
    INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ($3, $1, $4, $5)
)
""" + CURRENT_ROLES
CLAIM_REFRESH = """
SELECT r.session_id, r.expires_at, r.used_at, s.account_id, s.ended_at, s.created_at AS logged_in_at
FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
WHERE r.token_hash = $1
FOR UPDATE OF r, s
"""
USE_REFRESH = "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1"
END_SESSION = "UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL"
END_SESSIONS_OF = """
UPDATE sessions SET ended_at = $2
WHERE account_id = $1 AND ended_at IS NULL AND id IS DISTINCT FROM $3
"""
IS_ACTIVE = """
SELECT 1 FROM sessions WHERE id = $1 AND account_id = $2 AND ended_at IS NULL AND created_at > $3
"""
PURGE_ENDED = """
DELETE FROM sessions s WHERE s.ended_at < $1
   OR NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id AND r.expires_at > $1)
"""


async def open_session(
    conn: Executor, session_id: UUID, account_id: UUID, now: datetime, refresh_hash: bytes,
    refresh_expires_at: datetime, user_agent: str = "", place: str = "",
) -> tuple[str, ...]:
    """Open a session with its first refresh token; returns the account's roles."""
    roles = await conn.fetchval(
        OPEN_SESSION, session_id, account_id, now, refresh_hash, refresh_expires_at, user_agent, place
    )
    return tuple(roles)


async def touch(conn: Executor, session_id: UUID, now: datetime, place: str) -> None:
    """A refresh is a use: when, and from where (coarsely)."""
    await conn.execute(TOUCH, session_id, now, place)


async def list_open(conn: Executor, account_id: UUID, logged_in_after: datetime, now: datetime) -> list[StoredSession]:
    """Sessions that can still go on: not ended, not past the maximum age, with a live
    refresh token."""
    return [StoredSession(**r) for r in await conn.fetch(LIST_OPEN, account_id, logged_in_after, now)]


async def end_own(conn: Executor, session_id: UUID, account_id: UUID, now: datetime) -> bool:
    """End one session of this account; False when there is none such still open."""
    return await conn.fetchval(END_OWN, session_id, account_id, now) is not None


async def add_refresh_token(
    conn: Executor, session_id: UUID, account_id: UUID, refresh_hash: bytes, now: datetime,
    expires_at: datetime,
) -> tuple[str, ...]:
    """The session's next refresh token; returns the account's roles."""
    return tuple(await conn.fetchval(ADD_REFRESH, session_id, account_id, refresh_hash, now, expires_at))


async def claim_refresh_token(conn: Executor, refresh_hash: bytes) -> RefreshToken | None:
    """The token and its session, both locked until the transaction ends."""
    row = await conn.fetchrow(CLAIM_REFRESH, refresh_hash)
    return None if row is None else RefreshToken(**row)


async def use_refresh_token(conn: Executor, refresh_hash: bytes, now: datetime) -> None:
    await conn.execute(USE_REFRESH, refresh_hash, now)


async def end_session(conn: Executor, session_id: UUID, now: datetime) -> None:
    await conn.execute(END_SESSION, session_id, now)


async def end_sessions_of(
    conn: Executor, account_id: UUID, now: datetime, keep: UUID | None = None
) -> None:
    await conn.execute(END_SESSIONS_OF, account_id, now, keep)


async def is_active(conn: Executor, session_id: UUID, account_id: UUID, logged_in_after: datetime) -> bool:
    """Not ended, and not older than the maximum age (logged in after `logged_in_after`)."""
    return await conn.fetchval(IS_ACTIVE, session_id, account_id, logged_in_after) is not None


async def purge(conn: Executor, now: datetime) -> None:
    await conn.execute(PURGE_ENDED, now)
