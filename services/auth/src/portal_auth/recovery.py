"""Forgotten and changed passwords (FAQ: "Passwort vergessen")."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from portal_auth import throttle
from portal_auth.access_tokens import AccessClaims
from portal_auth.config import SCHEMA
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import customers, email, ownership, password_policy, tokens
from portal_auth.domain.accounts import Account
from portal_auth.domain.errors import LinkInvalid, PasswordPolicyViolated, ResetLinkExpired
from portal_auth.domain.limits import (
    FORGOT_PER_ACCOUNT,
    FORGOT_PER_IP,
    OWNERSHIP_NOTICES,
    RESET,
    RESET_CHECK,
)
from portal_auth.repository import accounts, security
from portal_auth.repository import customers as customer_records
from portal_auth.repository import sessions as session_records
from portal_auth.repository import tokens as token_records
from portal_auth.timing import lasting_at_least
from portal_shared import outbox
from portal_shared.db import Executor
from portal_shared.events import PasswordChanged, RegistrationRefused, ResetRequested, new_event

UNIFORM_ANSWER_SECONDS = 0.05
REUSED = "not_reused"  # joins the policy's rule ids: a new password is not a recent one


async def forgot(ctx: AuthContext, customer_number: str, address: str, caller: Caller) -> None:
    """Queue a reset mail when customer number and address match an active account.

    Always the same answer (202), also past the per-account limit: then nothing more is
    sent, quietly — the newest mail already holds a working link, and a 429 would let
    anyone who knows the data keep the owner from asking. Both outcomes do the same
    reads and an audit write, within the same padded time. Per client IP, too many
    requests still get 429: that tells the asker nothing about the data.
    """
    number = customers.normalise_customer_number(customer_number)
    address_key = email.key(address)
    await ctx.limit(FORGOT_PER_IP, caller.network)
    now = ctx.clock()
    async with lasting_at_least(UNIFORM_ANSWER_SECONDS), ctx.pool.acquire() as conn, conn.transaction():
        account = await accounts.find_active_by_customer_and_email(conn, number, address_key)
        sending = account is not None and await ctx.within(FORGOT_PER_ACCOUNT, str(account.id), conn)
        await security.audit(
            conn, now, "reset_requested", caller.ip, account.id if account else None,
            number if account else None, matched=account is not None,
            **({"sent": sending} if account is not None else {}),
        )
        if account is None:
            await _tell_address_on_file_who_holds_it(ctx, conn, number, address_key, caller)
            return
        if not sending:
            return
        await token_records.void_unused(conn, "reset", account.id)
        token, token_hash = tokens.new_token()
        expires = now + timedelta(minutes=ctx.settings.reset_ttl_minutes)
        await token_records.insert(conn, "reset", token_hash, account.id, now, expires)
        requested = ResetRequested(
            account_id=account.id, email=account.email, last_name=account.last_name,
            locale=account.locale, reset_token=token, expires_at=expires,
        )
        await outbox.enqueue(conn, new_event(requested, caller.correlation_id), SCHEMA)


async def _tell_address_on_file_who_holds_it(
    ctx: AuthContext, conn: Executor, number: str, address_key: str, caller: Caller
) -> None:
    """The address on file asks for a reset, but an account with another address holds
    the customer number (registered before the address was on file): no reset link, but
    the address on file learns which (masked) address holds it and that support can
    release it. Nobody else is told anything. Past `OWNERSHIP_NOTICES` for the customer
    number, quietly nothing more (like reset mails: the answer stays 202)."""
    customer = await customer_records.find_customer(conn, number)
    if customer is None or customer.email_key != address_key:
        return
    holders = [h for h in await accounts.holders_of_customer(conn, number) if h.is_active]
    if not holders or not await ctx.within(OWNERSHIP_NOTICES, number, conn):
        return
    refusal = RegistrationRefused(
        customer_number=number, email=customer.email, last_name=customer.last_name,
        reason="already_held", other_address=ownership.mask_email(holders[0].email),
    )
    await outbox.enqueue(conn, new_event(refusal, caller.correlation_id), SCHEMA)


async def check_reset_link(ctx: AuthContext, token: str, caller: Caller) -> None:
    """Whether a reset link still works; uses nothing up. The page asks before it shows
    the form, so that a used or old link says so at once instead of after the customer
    has made up a new password twice."""
    await ctx.limit(RESET_CHECK, caller.network)
    await _reset_account(ctx, token)


async def _reset_account(ctx: AuthContext, token: str) -> Account:
    """The account a reset link is for, while the link works."""
    if not tokens.is_well_formed(token):
        raise LinkInvalid
    async with ctx.pool.acquire() as conn:
        link = await token_records.claim(conn, "reset", tokens.hash_token(token))
        account = await accounts.find_by_id(conn, link.account_id) if link else None
    if link is None or link.is_used or account is None:
        raise LinkInvalid
    if tokens.is_expired(link.expires_at, ctx.clock()):
        raise ResetLinkExpired
    return account


async def reset(ctx: AuthContext, token: str, new_password: str, caller: Caller) -> None:
    """Set a new password from a mailed link; every session of the account ends."""
    await ctx.limit(RESET, caller.network)
    account = await _reset_account(ctx, token)
    token_hash = tokens.hash_token(token)
    now = ctx.clock()
    new_hash = await _acceptable_new_hash(ctx, account, new_password)
    async with ctx.pool.acquire() as conn, conn.transaction():
        again = await token_records.claim(conn, "reset", token_hash)
        if again is None or again.is_used:
            raise LinkInvalid  # used by a parallel request meanwhile
        await token_records.use(conn, "reset", token_hash, now)
        await _store_new_password(ctx, conn, account, new_hash, now, "reset", caller, keep_session=None)
        # A customer who proved control of the mailbox starts without a guessing count.
        await throttle.clear(conn, throttle.account_subject(account.email_key))


async def change(
    ctx: AuthContext, claims: AccessClaims, current: str, new_password: str, caller: Caller
) -> None:
    """Change the password when logged in; the account's other sessions end."""
    account = await throttle.confirm_password(ctx, claims.account_id, current, "current_password", caller)
    new_hash = await _acceptable_new_hash(ctx, account, new_password)
    async with ctx.pool.acquire() as conn, conn.transaction():
        await _store_new_password(
            ctx, conn, account, new_hash, ctx.clock(), "change", caller, keep_session=claims.session_id
        )


async def _acceptable_new_hash(ctx: AuthContext, account: Account, password: str) -> str:
    personal = password_policy.PersonalData(account.last_name, account.email, account.customer_number)
    broken = password_policy.violations(password, personal)
    if not broken:
        async with ctx.pool.acquire() as conn:
            recent = await accounts.recent_password_hashes(conn, account.id, ctx.settings.password_history_size)
        if await ctx.passwords.matches_any(recent, password):
            broken = [REUSED]
    if broken:
        raise PasswordPolicyViolated(broken)
    return await ctx.passwords.hash(password)


async def _store_new_password(
    ctx: AuthContext, conn: Executor, account: Account, new_hash: str,
    now: datetime, via: str, caller: Caller, keep_session: UUID | None,
) -> None:
    await accounts.set_password(conn, account.id, new_hash, now, ctx.settings.password_history_size)
    # A reset link still in a mailbox (or in someone else's hands) must not undo this.
    await token_records.void_unused(conn, "reset", account.id)
    await session_records.end_sessions_of(conn, account.id, now, keep=keep_session)
    await security.audit(conn, now, f"password_{via}", caller.ip, account.id, account.customer_number)
    notice = PasswordChanged(
        account_id=account.id, email=account.email, last_name=account.last_name,
        locale=account.locale, changed_at=now, via=via,
    )
    await outbox.enqueue(conn, new_event(notice, caller.correlation_id), SCHEMA)
