"""The customer's own sessions („Angemeldete Geräte“): which are open, and ending one of
them or all but the current one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from portal_auth.access_tokens import AccessClaims
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import devices
from portal_auth.domain.errors import SessionNotFound
from portal_auth.repository import security
from portal_auth.repository import sessions as session_records


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
        stored = await session_records.list_open(conn, claims.account_id, oldest, now)
    return [
        OpenSession(
            id=s.id, device=devices.device_label(s.user_agent), place=s.place,
            created_at=s.created_at, last_used_at=s.last_used_at, current=s.id == claims.session_id,
        )
        for s in stored
    ]


async def end_one(ctx: AuthContext, claims: AccessClaims, session_id: UUID, caller: Caller) -> None:
    """End one of the customer's sessions (its tokens stop working at once); 404 when it
    is not theirs or has ended already."""
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        if not await session_records.end_own(conn, session_id, claims.account_id, now):
            raise SessionNotFound
        await security.audit(conn, now, "session_ended", caller.ip, claims.account_id, session=str(session_id))


async def end_others(ctx: AuthContext, claims: AccessClaims, caller: Caller) -> None:
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        await session_records.end_sessions_of(conn, claims.account_id, now, keep=claims.session_id)
        await security.audit(conn, now, "other_sessions_ended", caller.ip, claims.account_id)
