"""Brute-force protection for password checks, shared by all replicas via PostgreSQL.

Failures are counted per account (its e-mail key, whether or not it exists, so a lock
reveals nothing) and per client IP; past a few free failures each further one locks the
subject for twice as long as the last. A successful login clears the account's count.
"""

from __future__ import annotations

from portal_auth.context import AuthContext
from portal_auth.domain.limits import ACCOUNT_LOCKS, IP_LOCKS
from portal_auth.domain.throttling import LockPolicy, lock_duration, seconds_until
from portal_auth.repository import Conn, security
from portal_shared.problems import Problem
from portal_shared.ratelimit import TOO_MANY_ATTEMPTS


def subjects(email_key: str, ip: str) -> dict[str, LockPolicy]:
    return {f"account:{email_key}": ACCOUNT_LOCKS, f"ip:{ip}": IP_LOCKS}


async def refuse_if_locked(ctx: AuthContext, conn: Conn, email_key: str, ip: str) -> None:
    now = ctx.clock()
    locked = [
        r["locked_until"] for r in await security.failures(conn, list(subjects(email_key, ip)))
        if r["locked_until"] is not None and r["locked_until"] > now
    ]
    if locked:
        wait = seconds_until(max(locked), now)
        raise Problem(TOO_MANY_ATTEMPTS, headers={"Retry-After": str(wait)})


async def record_failure(ctx: AuthContext, conn: Conn, email_key: str, ip: str) -> None:
    now = ctx.clock()
    for key, policy in subjects(email_key, ip).items():
        failures = await security.record_failure(conn, key, now, now - policy.forget_after)
        duration = lock_duration(policy, failures)
        if duration is not None:
            await security.lock(conn, key, now + duration)


async def clear_account(conn: Conn, email_key: str) -> None:
    await security.clear(conn, f"account:{email_key}")
