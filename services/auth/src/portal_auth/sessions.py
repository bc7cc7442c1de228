"""Login, token refresh, logout, and who the bearer of an access token is."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from portal_auth import throttle
from portal_auth.access_tokens import AccessClaims, InvalidAccessToken
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import devices, email, session_lifetime, tokens
from portal_auth.domain.limits import REFRESH
from portal_auth.problems import ACCOUNT_NOT_ACTIVATED, INVALID_CREDENTIALS, REFRESH_TOKEN_INVALID
from portal_auth.repository import accounts, security
from portal_auth.repository import sessions as session_records
from portal_shared.problems import UNAUTHORIZED, Problem


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


async def login(ctx: AuthContext, address: str, password: str, caller: Caller) -> TokenPair:
    address_key = email.key(address)
    async with ctx.pool.acquire() as conn, conn.transaction():
        # Attempts on one address run one at a time, on every replica: a burst of
        # parallel guesses is counted guess by guess and runs into the lock.
        await throttle.serialise_attempts(conn, address_key)
        await throttle.refuse_if_locked(ctx, conn, address_key, caller.ip)
        account = await accounts.find_by_email(conn, address_key)
        stored_hash = account["password_hash"] if account else None
        # An unknown address is verified against a dummy hash: same answer, same time.
        verified = await ctx.passwords.verify(stored_hash, password)
        now = ctx.clock()
        refusal = None
        if not verified:
            await throttle.record_failure(ctx, conn, address_key, caller.ip)
            await security.audit(conn, now, "login_failed", caller.ip, account["id"] if account else None)
            refusal = INVALID_CREDENTIALS
        else:
            assert account is not None and stored_hash is not None
            await throttle.clear_account(conn, address_key)
            if account["status"] != "active":
                refusal = ACCOUNT_NOT_ACTIVATED
            else:
                if ctx.passwords.needs_rehash(stored_hash):
                    # Parameters were raised since this hash was made; upgrade it now.
                    await accounts.rehash_password(conn, account["id"], await ctx.passwords.hash(password))
                pair = await _open_session(ctx, conn, account["id"], caller)
                await security.audit(
                    conn, now, "login_succeeded", caller.ip, account["id"], account["customer_number"]
                )
    if refusal is not None:
        # Raised after the block, so that the failure count is committed.
        raise Problem(refusal)
    return pair


async def refresh(ctx: AuthContext, refresh_token: str, caller: Caller) -> TokenPair:
    """Rotate: the presented token is spent and a new one issued in the same session.

    A spent token presented again means it was copied: the whole session (its token
    family) is ended, so neither the thief nor the customer can continue with it.
    """
    await ctx.limit(REFRESH, caller.ip)
    token_hash = tokens.hash_token(refresh_token)
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await session_records.claim_refresh_token(conn, token_hash)
        if (
            row is None or row["ended_at"] is not None or tokens.is_expired(row["expires_at"], now)
            or session_lifetime.has_ended(row["logged_in_at"], now, _max_age(ctx))
        ):
            raise Problem(REFRESH_TOKEN_INVALID)
        reused = row["used_at"] is not None
        if reused:
            await session_records.end_session(conn, row["session_id"], now)
            await security.audit(conn, now, "refresh_token_reused", caller.ip, row["account_id"])
        else:
            await session_records.use_refresh_token(conn, token_hash, now)
            await session_records.touch(conn, row["session_id"], now, devices.coarse_place(caller.ip))
            pair = await _issue_pair(ctx, conn, row["account_id"], row["session_id"], row["logged_in_at"])
    if reused:
        # Raised after the block, so that the revocation is committed.
        raise Problem(REFRESH_TOKEN_INVALID)
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
        raise _unauthorized() from None
    oldest = ctx.clock() - _max_age(ctx)
    async with ctx.pool.acquire() as conn:
        if not await session_records.is_active(conn, claims.session_id, claims.account_id, oldest):
            raise _unauthorized()
    return claims


async def current_roles(ctx: AuthContext, claims: AccessClaims) -> tuple[str, ...]:
    """The roles the account holds now, which may be fewer than its access token says."""
    async with ctx.pool.acquire() as conn:
        return await accounts.roles_of(conn, claims.account_id)


async def profile(ctx: AuthContext, claims: AccessClaims) -> asyncpg.Record:
    async with ctx.pool.acquire() as conn:
        account = await accounts.find_by_id(conn, claims.account_id)
    if account is None or account["status"] != "active":
        raise _unauthorized()
    return account


async def _open_session(
    ctx: AuthContext, conn: asyncpg.Connection, account_id: UUID, caller: Caller
) -> TokenPair:
    session_id = uuid4()
    now = ctx.clock()
    await session_records.open_session(
        conn, session_id, account_id, now, caller.user_agent, devices.coarse_place(caller.ip)
    )
    return await _issue_pair(ctx, conn, account_id, session_id, now)


async def _issue_pair(
    ctx: AuthContext, conn: asyncpg.Connection, account_id: UUID, session_id: UUID,
    logged_in_at: datetime,
) -> TokenPair:
    """A fresh refresh token in the session and an access token carrying current roles."""
    now = ctx.clock()
    refresh_token = secrets.token_urlsafe(tokens.TOKEN_BYTES)
    expiry = session_lifetime.refresh_expiry(
        now, logged_in_at, timedelta(days=ctx.settings.refresh_token_ttl_days), _max_age(ctx)
    )
    await session_records.add_refresh_token(conn, session_id, tokens.hash_token(refresh_token), now, expiry)
    roles = await accounts.roles_of(conn, account_id)
    access = ctx.access_tokens.issue(AccessClaims(account_id, session_id, roles), now)
    return TokenPair(access, refresh_token, int(ctx.access_tokens.ttl.total_seconds()))


def _max_age(ctx: AuthContext) -> timedelta:
    return timedelta(days=ctx.settings.session_max_age_days)


def _unauthorized() -> Problem:
    return Problem(UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
