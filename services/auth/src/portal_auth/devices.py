"""The customer's own sessions („Angemeldete Geräte“): which are open, and ending one of
them or all but the current one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from portal_auth.access_tokens import AccessClaims
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import devices
from portal_auth.problems import SESSION_NOT_FOUND
from portal_auth.repository import security
from portal_auth.repository import sessions as session_records
from portal_shared.problems import Problem


@dataclass(frozen=True)
class OpenSession:
    id: UUID
    device: str
    place: str
    created_at: datetime
    last_used_at: datetime
    current: bool


async def list_open(ctx: AuthContext, claims: AccessClaims) -> list[OpenSession]:
    now = ctx.clock()
    oldest = now - timedelta(days=ctx.settings.session_max_age_days)
    async with ctx.pool.acquire() as conn:
        rows = await session_records.list_open(conn, claims.account_id, oldest, now)
    return [
        OpenSession(
            id=row["id"], device=devices.device_label(row["user_agent"]), place=row["place"],
            created_at=row["created_at"], last_used_at=row["last_used_at"],
            current=row["id"] == claims.session_id,
        )
        for row in rows
    ]


async def end_one(ctx: AuthContext, claims: AccessClaims, session_id: UUID, caller: Caller) -> None:
    """End one of the customer's sessions (its tokens stop working at once); 404 when it
    is not theirs or has ended already."""
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        if not await session_records.end_own(conn, session_id, claims.account_id, now):
            raise Problem(SESSION_NOT_FOUND)
        await security.audit(conn, now, "session_ended", caller.ip, claims.account_id, session=str(session_id))


async def end_others(ctx: AuthContext, claims: AccessClaims, caller: Caller) -> None:
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        await session_records.end_sessions_of(conn, claims.account_id, now, keep=claims.session_id)
        await security.audit(conn, now, "other_sessions_ended", caller.ip, claims.account_id)
