"""Login, token refresh, logout, and who the bearer of an access token is."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from portal_auth import resend, throttle
from portal_auth.access_tokens import AccessClaims, InvalidAccessToken
from portal_auth.config import SCHEMA
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import device_tokens, devices, email, session_lifetime, tokens
from portal_auth.domain.accounts import Account
from portal_auth.domain.errors import InvalidCredentials, NotAuthenticated, RefreshTokenInvalid
from portal_auth.domain.limits import (
    ACCOUNT_CHALLENGES,
    ACTIVATION_REMINDER,
    ATTACK_NOTICE_INTERVAL,
    DEVICE_CHALLENGES,
    REFRESH,
)
from portal_auth.domain.login import LoginOutcome, login_outcome, tell_owner_of_attack
from portal_auth.domain.session_lifetime import RefreshOutcome, refresh_outcome
from portal_auth.domain.throttling import needs_challenge
from portal_auth.repository import accounts, security
from portal_auth.repository import sessions as session_records
from portal_auth.timing import sleep_until
from portal_shared import outbox
from portal_shared.db import Executor
from portal_shared.events import ActivationReminder, SuspiciousLogins, new_event

# Above the slowest verification (a hash from before 2026-11-25, m=19 MiB: ~20 ms) and
# the failure's bookkeeping; under load the wait for a hashing thread, the same for
# every attempt, comes on top.
FAILED_LOGIN_SECONDS = 0.1


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class LoggedIn:
    tokens: TokenPair
    device_token: str  # for the browser to present at its next logins


async def login(
    ctx: AuthContext, address: str, password: str, caller: Caller,
    altcha: str | None = None, device_token: str | None = None,
) -> LoggedIn:
    """Check the password; open a session when it is right and the account active.

    A pending account with the right password is answered like a wrong password, and
    its address gets a fresh activation link: only the mailbox learns that it exists.
    Failures count for the address, or for the device when the browser presents a valid
    device token of this account; past a few, attempts need a solved challenge.
    """
    # Every refusal (wrong data, a challenge needed, a locked IP) comes after one time from
    # here: a hash with older, slower parameters (until its owner's next login), a pending
    # account's reminder or the owner's notice would otherwise tell a known address from
    # an unknown one. The wait holds no connection and no lock.
    refusal_at = asyncio.get_running_loop().time() + FAILED_LOGIN_SECONDS
    try:
        return await _attempt(ctx, address, password, caller, altcha, device_token)
    except Exception:
        await sleep_until(refusal_at)
        raise


async def _attempt(
    ctx: AuthContext, address: str, password: str, caller: Caller,
    altcha: str | None, device_token: str | None,
) -> LoggedIn:
    address_key = email.key(address)
    async with ctx.pool.acquire() as conn, conn.transaction():
        # Attempts on one address run one at a time, on every replica: a burst of
        # parallel guesses is counted guess by guess and runs into the challenge.
        await throttle.serialise_attempts(conn, address_key)
        account = await accounts.find_by_email(conn, address_key)
        device_id = _known_device(ctx, account, device_token)
        if device_id is not None:
            subject, policy = throttle.device_subject(device_id), DEVICE_CHALLENGES
        else:
            subject, policy = throttle.account_subject(address_key), ACCOUNT_CHALLENGES
        await throttle.admit_guess(ctx, conn, caller.network, subject, policy, altcha)
        # An unknown address is verified against a dummy hash: same answer, same time.
        verified = await ctx.passwords.verify(account.password_hash if account else None, password)
        now = ctx.clock()
        outcome = login_outcome(verified, account)
        if outcome is LoginOutcome.LOGGED_IN:
            assert account is not None
            if device_id is not None:
                await throttle.clear(conn, subject)
            if ctx.passwords.needs_rehash(account.password_hash):
                # Parameters were raised since this hash was made; upgrade it now.
                await accounts.rehash_password(conn, account.id, await ctx.passwords.hash(password))
            pair = await _open_session(ctx, conn, account.id, caller)
            await security.audit(conn, now, "login_succeeded", caller.ip, account.id, account.customer_number)
            device = device_tokens.issue(
                ctx.challenges.device_key(), account.id, device_id or device_tokens.new_device_id(), now
            )
            return LoggedIn(pair, device)
        # A wrong password, an unknown address, or the right password of a pending
        # account: one answer, one count.
        failures = await throttle.record_failure(ctx, conn, subject, policy, caller.network)
        if outcome is LoginOutcome.PENDING:
            assert account is not None
            await security.audit(conn, now, "login_pending", caller.ip, account.id)
            await _remind_to_activate(ctx, conn, account, caller)
        else:
            await security.audit(conn, now, "login_failed", caller.ip, account.id if account else None)
        if tell_owner_of_attack(account, device_id is not None, failures, ACCOUNT_CHALLENGES):
            assert account is not None
            await _tell_owner(ctx, conn, account, failures, caller)
    # Raised after the block, so that the failure count is committed.
    raise InvalidCredentials(challenge_required=needs_challenge(policy, failures))


def _known_device(ctx: AuthContext, account: Account | None, token: str | None) -> str | None:
    if account is None or not token:
        return None
    return device_tokens.device_of(ctx.challenges.device_key(), token, account.id, ctx.clock())


async def _remind_to_activate(ctx: AuthContext, conn: Executor, account: Account, caller: Caller) -> None:
    """A fresh activation link for a pending account (quietly at most a few an hour);
    only the newest link works."""
    if not await ctx.within(ACTIVATION_REMINDER, str(account.id), conn):
        return
    now = ctx.clock()
    link = await resend.fresh_activation_link(ctx, conn, account, now)
    if link is None:
        return
    account, token, expires = link
    reminder = ActivationReminder(
        account_id=account.id, email=account.email, last_name=account.last_name,
        locale=account.locale, activation_token=token, expires_at=expires,
    )
    await outbox.enqueue(conn, new_event(reminder, caller.correlation_id), SCHEMA)


async def _tell_owner(ctx: AuthContext, conn: Executor, account: Account, failures: int, caller: Caller) -> None:
    """Failures have just made challenges necessary: the owner hears of it (at most once
    a day), with the way to a new password."""
    now = ctx.clock()
    if not await security.claim_attack_notice(conn, account.id, now, now - ATTACK_NOTICE_INTERVAL):
        return
    notice = SuspiciousLogins(
        account_id=account.id, email=account.email, last_name=account.last_name,
        locale=account.locale, failed_attempts=failures,
    )
    await outbox.enqueue(conn, new_event(notice, caller.correlation_id), SCHEMA)


async def refresh(ctx: AuthContext, refresh_token: str, caller: Caller) -> TokenPair:
    """Rotate: the presented token is spent and a new one issued in the same session.

    A spent token presented again means it was copied: the whole session (its token
    family) is ended, so neither the thief nor the customer can continue with it.
    """
    await ctx.limit(REFRESH, caller.network)
    token_hash = tokens.hash_token(refresh_token)
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        stored = await session_records.claim_refresh_token(conn, token_hash)
        outcome = refresh_outcome(stored, now, _max_age(ctx))
        if outcome is RefreshOutcome.INVALID:
            raise RefreshTokenInvalid
        assert stored is not None
        if outcome is RefreshOutcome.REUSED:
            await session_records.end_session(conn, stored.session_id, now)
            await security.audit(conn, now, "refresh_token_reused", caller.ip, stored.account_id)
        else:
            await session_records.use_refresh_token(conn, token_hash, now)
            await session_records.touch(conn, stored.session_id, now, devices.coarse_place(caller.ip))
            pair = await _issue_pair(ctx, conn, stored.account_id, stored.session_id, stored.logged_in_at)
    if outcome is RefreshOutcome.REUSED:
        # Raised after the block, so that the revocation is committed.
        raise RefreshTokenInvalid
    return pair


async def logout(ctx: AuthContext, claims: AccessClaims, caller: Caller) -> None:
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        await session_records.end_session(conn, claims.session_id, now)
        await security.audit(conn, now, "logout", caller.ip, claims.account_id)


async def authenticate(ctx: AuthContext, bearer_token: str) -> AccessClaims:
    """The claims of a valid access token whose session has not ended."""
    try:
        claims = ctx.access_tokens.verify(bearer_token, ctx.clock())
    except InvalidAccessToken:
        raise NotAuthenticated from None
    oldest = ctx.clock() - _max_age(ctx)
    async with ctx.pool.acquire() as conn:
        if not await session_records.is_active(conn, claims.session_id, claims.account_id, oldest):
            raise NotAuthenticated
    return claims


async def current_roles(ctx: AuthContext, claims: AccessClaims) -> tuple[str, ...]:
    """The roles the account holds now, which may be fewer than its access token says."""
    async with ctx.pool.acquire() as conn:
        return await accounts.roles_of(conn, claims.account_id)


async def profile(ctx: AuthContext, claims: AccessClaims) -> Account:
    async with ctx.pool.acquire() as conn:
        account = await accounts.find_by_id(conn, claims.account_id)
    if account is None or not account.is_active:
        raise NotAuthenticated
    return account


async def _open_session(
    ctx: AuthContext, conn: Executor, account_id: UUID, caller: Caller
) -> TokenPair:
    """A new session with its first refresh token, and an access token carrying the
    account's current roles (one round trip for all three)."""
    session_id = uuid4()
    now = ctx.clock()
    refresh_token, refresh_hash, expiry = _new_refresh_token(ctx, now, now)
    roles = await session_records.open_session(
        conn, session_id, account_id, now, refresh_hash, expiry,
        caller.user_agent, devices.coarse_place(caller.ip),
    )
    return _pair(ctx, account_id, session_id, roles, refresh_token, now)


async def _issue_pair(
    ctx: AuthContext, conn: Executor, account_id: UUID, session_id: UUID,
    logged_in_at: datetime,
) -> TokenPair:
    """A fresh refresh token in the session and an access token carrying current roles."""
    now = ctx.clock()
    refresh_token, refresh_hash, expiry = _new_refresh_token(ctx, now, logged_in_at)
    roles = await session_records.add_refresh_token(conn, session_id, account_id, refresh_hash, now, expiry)
    return _pair(ctx, account_id, session_id, roles, refresh_token, now)


def _new_refresh_token(ctx: AuthContext, now: datetime, logged_in_at: datetime) -> tuple[str, bytes, datetime]:
    token = secrets.token_urlsafe(tokens.TOKEN_BYTES)
    expiry = session_lifetime.refresh_expiry(
        now, logged_in_at, timedelta(days=ctx.settings.refresh_token_ttl_days), _max_age(ctx)
    )
    return token, tokens.hash_token(token), expiry


def _pair(
    ctx: AuthContext, account_id: UUID, session_id: UUID, roles: tuple[str, ...], refresh_token: str,
    now: datetime,
) -> TokenPair:
    access = ctx.access_tokens.issue(AccessClaims(account_id, session_id, roles), now)
    return TokenPair(access, refresh_token, int(ctx.access_tokens.ttl.total_seconds()))


def _max_age(ctx: AuthContext) -> timedelta:
    return timedelta(days=ctx.settings.session_max_age_days)

