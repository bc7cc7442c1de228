"""Brute-force protection for password checks, shared by all replicas via PostgreSQL.

Failures are counted per account (its e-mail key, whether or not it exists, so a lock
reveals nothing) and per client IP; past a few free failures each further one locks the
subject for twice as long as the last. A successful login clears the account's count.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from portal_auth.context import AuthContext, Caller
from portal_auth.domain.limits import ACCOUNT_LOCKS, IP_LOCKS
from portal_auth.domain.throttling import LockPolicy, lock_duration, seconds_until
from portal_auth.problems import CURRENT_PASSWORD_INVALID
from portal_auth.repository import Conn, accounts, security
from portal_shared.problems import FieldError, Problem
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


async def serialise_attempts(conn: Conn, email_key: str) -> None:
    """Hold, until the transaction ends, the right to check a password for this address."""
    await accounts.lock_keys(conn, f"password-check:{email_key}")


async def confirm_password(
    ctx: AuthContext, account_id: UUID, password: str, field: str, caller: Caller
) -> asyncpg.Record:
    """A logged-in customer re-enters the password before a sensitive change.

    Wrong guesses count like failed logins, so a stolen session cannot be used to try
    passwords without limit.
    """
    async with ctx.pool.acquire() as conn, conn.transaction():
        account = await accounts.find_by_id(conn, account_id)
        if account is None:
            raise Problem(CURRENT_PASSWORD_INVALID)
        await serialise_attempts(conn, account["email_key"])
        await refuse_if_locked(ctx, conn, account["email_key"], caller.ip)
        confirmed = await ctx.passwords.verify(account["password_hash"], password)
        if not confirmed:
            await record_failure(ctx, conn, account["email_key"], caller.ip)
            await security.audit(conn, ctx.clock(), "password_confirmation_failed", caller.ip, account_id)
    if not confirmed:
        raise Problem(CURRENT_PASSWORD_INVALID, [FieldError(field, "invalid")])
    return account
