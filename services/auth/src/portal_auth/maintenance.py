"""Periodic clean-up: expired registrations, spent tokens and challenges, ended sessions,
old counters.

Runs in every replica; an advisory lock lets one of them do each round.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import asyncpg

from portal_auth.config import AuthSettings
from portal_auth.context import Clock
from portal_auth.repository import accounts, challenges, email_changes, security, sessions, tokens
from portal_shared import ratelimit

log = logging.getLogger(__name__)

TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('auth-maintenance'))"


async def purge_expired(pool: asyncpg.Pool, settings: AuthSettings, now: datetime) -> int:
    """One clean-up round; returns how many expired registrations were purged."""
    retention = timedelta(days=settings.expired_registration_retention_days)
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval(TRY_LOCK):
            return 0
        purged = await accounts.purge_expired_pending(conn, now - retention)
        await tokens.purge(conn, "activation", now - retention)
        await tokens.purge(conn, "reset", now - retention)
        await email_changes.purge(conn, now - retention)
        await sessions.purge(conn, now)
        await security.purge_failures(conn, now - timedelta(days=1))
        await challenges.purge(conn, now)
        await conn.execute(ratelimit.PURGE_OLD, now - timedelta(days=1))
    if purged:
        log.info("purged %d expired registrations", purged)
    return purged


async def run_periodically(pool: asyncpg.Pool, settings: AuthSettings, clock: Clock) -> None:
    while True:
        try:
            await purge_expired(pool, settings, clock())
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("maintenance round failed: %s", type(exc).__name__)
        await asyncio.sleep(settings.maintenance_interval_seconds)
