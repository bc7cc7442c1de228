"""Brute-force protection for guesses, shared by all replicas via PostgreSQL.

Failures are counted per guessing target:
- `account:<email key>` failed logins on an address without a valid device token,
  whether or not the address has an account (so the counts reveal nothing);
- `device:<id>` failed logins with a valid device token of the account: the owner's
  known browser, counted apart, so guesses from elsewhere never reach it;
- `customer:<number>` registrations whose last name did not match (known number or not).
Past a few free failures, each further attempt at that target must carry a solved
proof-of-work challenge (428 `challenge_required` without one): guessing gets slow and
costly, and nobody is locked out. Only attempts that can guess something count — a
wrong password, a wrong last name — never a password that breaks the policy.

Per client IP (`ip:<address>`), failed password checks still lock that address for a
while, doubling up to an hour: it only ever hits whoever is guessing from it. A
logged-in customer re-entering the password (`confirm:<account id>`) is locked the
same way, so a stolen session cannot be used to try passwords either.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from portal_auth.context import AuthContext, Caller
from portal_auth.domain.accounts import Account
from portal_auth.domain.errors import (
    ChallengeRequired,
    CurrentPasswordInvalid,
    TooManyAttempts,
    WrongGuess,
)
from portal_auth.domain.limits import CONFIRM_LOCKS, IP_LOCKS
from portal_auth.domain.throttling import (
    ChallengePolicy,
    LockPolicy,
    failures_counted,
    lock_duration,
    lock_wait,
    needs_challenge,
)
from portal_auth.repository import accounts, security
from portal_shared.db import Executor


def account_subject(email_key: str) -> str:
    return f"account:{email_key}"


def device_subject(device_id: str) -> str:
    return f"device:{device_id}"


def customer_subject(customer_number: str) -> str:
    return f"customer:{customer_number}"


async def refuse_if_locked(ctx: AuthContext, conn: Executor, *keys: str) -> None:
    wait = lock_wait(await security.locked_until(conn, list(keys)), ctx.clock())
    if wait is not None:
        raise TooManyAttempts(wait)


async def admit_guess(
    ctx: AuthContext, conn: Executor, ip: str, subject: str, policy: ChallengePolicy, altcha: str | None
) -> None:
    """Before a guess at `subject` from `ip` (read together, one round trip): refused
    while the IP is locked (429); past the subject's free failures, the attempt's solved
    challenge is spent or it is refused (428). A refused attempt guessed nothing and is
    not counted."""
    now = ctx.clock()
    ip_key = f"ip:{ip}"
    on_file = await security.counts(conn, [ip_key, subject])
    ip_count = on_file.get(ip_key)
    wait = lock_wait([ip_count.locked_until if ip_count else None], now)
    if wait is not None:
        raise TooManyAttempts(wait)
    failures = failures_counted(on_file.get(subject), now, policy.forget_after)
    if needs_challenge(policy, failures) and not await ctx.challenges.redeem(conn, altcha, now):
        raise ChallengeRequired


async def record_failure(
    ctx: AuthContext, conn: Executor, subject: str, policy: ChallengePolicy, ip: str
) -> int:
    """Count a failed guess at `subject` and from `ip`; returns the subject's count."""
    now = ctx.clock()
    failures = await security.record_failure(conn, subject, now, now - policy.forget_after)
    await _count_locking(ctx, conn, f"ip:{ip}", IP_LOCKS)
    return failures


async def clear(conn: Executor, subject: str) -> None:
    await security.clear(conn, subject)


async def serialise_attempts(conn: Executor, email_key: str) -> None:
    """Hold, until the transaction ends, the right to check a password for this address."""
    await accounts.lock_keys(conn, f"password-check:{email_key}")


@asynccontextmanager
async def guess(
    ctx: AuthContext, subject: str, policy: ChallengePolicy, altcha: str | None, miss: type[WrongGuess]
) -> AsyncIterator[None]:
    """One attempt at `subject` whose outcome the enclosed work decides (registration:
    the last name is checked deep inside it, on connections of its own).

    The attempt is counted before it is checked, so a burst of parallel guesses cannot
    all slip in under the threshold; it stays counted only when the work fails with
    `miss` (a wrong guess), which then also tells whether the next attempt needs a
    solved challenge.
    """
    now = ctx.clock()
    async with ctx.pool.acquire() as conn:
        failures = await security.record_failure(conn, subject, now, now - policy.forget_after)
    wrong = False
    try:
        if needs_challenge(policy, failures - 1):
            async with ctx.pool.acquire() as conn:
                if not await ctx.challenges.redeem(conn, altcha, now):
                    raise ChallengeRequired
        try:
            yield
        except miss:
            wrong = True
            raise miss(challenge_required=needs_challenge(policy, failures)) from None
    finally:
        if not wrong:
            async with ctx.pool.acquire() as conn:
                await security.uncount(conn, subject)


async def confirm_password(
    ctx: AuthContext, account_id: UUID, password: str, field: str, caller: Caller
) -> Account:
    """A logged-in customer re-enters the password before a sensitive change.

    Wrong guesses lock this account's confirmations (and the IP) for a while, so a
    stolen session cannot be used to try passwords without limit. Only a session holder
    can cause that lock; failed logins from elsewhere do not touch it.
    """
    async with ctx.pool.acquire() as conn, conn.transaction():
        account = await accounts.find_by_id(conn, account_id)
        if account is None:
            raise CurrentPasswordInvalid
        subject = f"confirm:{account_id}"
        await serialise_attempts(conn, account.email_key)
        await refuse_if_locked(ctx, conn, subject, f"ip:{caller.network}")
        confirmed = await ctx.passwords.verify(account.password_hash, password)
        if confirmed:
            await security.clear(conn, subject)
        else:
            await _count_locking(ctx, conn, subject, CONFIRM_LOCKS)
            await _count_locking(ctx, conn, f"ip:{caller.network}", IP_LOCKS)
            await security.audit(conn, ctx.clock(), "password_confirmation_failed", caller.ip, account_id)
    if not confirmed:
        raise CurrentPasswordInvalid(field)
    return account


async def _count_locking(ctx: AuthContext, conn: Executor, key: str, policy: LockPolicy) -> None:
    now = ctx.clock()
    failures = await security.record_failure(conn, key, now, now - policy.forget_after)
    duration = lock_duration(policy, failures)
    if duration is not None:
        await security.lock(conn, key, now + duration)
