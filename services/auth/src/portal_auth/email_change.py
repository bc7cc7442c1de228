"""Changing the account's e-mail address: the new address confirms by a mailed link,
the old one is told once it is done.

Nothing changes until the link is used, so a typo locks nobody out. The request answers
the same whether or not the new address belongs to another account (that address gets
no link); a confirmation that finds the address taken meanwhile says so plainly.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from portal_auth import throttle
from portal_auth.access_tokens import AccessClaims
from portal_auth.config import SCHEMA
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import email, tokens
from portal_auth.domain.accounts import Account
from portal_auth.domain.errors import (
    AccountNotActivated,
    EmailChangeLinkExpired,
    EmailTaken,
    EmailUnchanged,
    LinkInvalid,
)
from portal_auth.domain.limits import EMAIL_CHANGE, EMAIL_CONFIRM
from portal_auth.repository import accounts, email_changes, security
from portal_auth.repository import tokens as token_records
from portal_auth.timing import lasting_at_least
from portal_shared import outbox
from portal_shared.db import Executor
from portal_shared.events import EmailChanged, EmailChangeRequested, new_event

UNIFORM_ANSWER_SECONDS = 0.05  # above the extra work when a link goes out (a few ms)


async def request(
    ctx: AuthContext, claims: AccessClaims, new_address: str, password: str, caller: Caller
) -> None:
    """Mail a confirmation link to `new_address` after the password was confirmed."""
    await ctx.limit(EMAIL_CHANGE, str(claims.account_id))
    account = await throttle.confirm_password(ctx, claims.account_id, password, "password", caller)
    if not account.is_active:
        raise AccountNotActivated
    new_key = email.key(new_address)
    if new_key == account.email_key:
        raise EmailUnchanged
    now = ctx.clock()
    async with lasting_at_least(UNIFORM_ANSWER_SECONDS), ctx.pool.acquire() as conn, conn.transaction():
        holder = await accounts.find_by_email(conn, new_key)
        # An active account's address gets no link; a pending registration's may (the
        # confirmation proves the mailbox, and replaces that registration).
        taken = holder is not None and holder.is_active
        await email_changes.void_unused(conn, account.id)
        await security.audit(
            conn, now, "email_change_requested", caller.ip, account.id, account.customer_number,
            link_sent=not taken,
        )
        if taken:
            return
        token, token_hash = tokens.new_token()
        expires = now + timedelta(hours=ctx.settings.email_change_ttl_hours)
        await email_changes.insert(conn, token_hash, account.id, email.clean(new_address), new_key, now, expires)
        requested = EmailChangeRequested(
            account_id=account.id, email=email.clean(new_address), last_name=account.last_name,
            locale=account.locale, confirm_token=token, expires_at=expires,
        )
        await outbox.enqueue(conn, new_event(requested, caller.correlation_id), SCHEMA)


async def confirm(ctx: AuthContext, token: str, caller: Caller) -> str:
    """Switch to the confirmed address; returns it. The old address gets a notice."""
    await ctx.limit(EMAIL_CONFIRM, caller.network)
    if not tokens.is_well_formed(token):
        raise LinkInvalid
    token_hash = tokens.hash_token(token)
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        new_key = await email_changes.address_key_of(conn, token_hash)
        if new_key is None:
            raise LinkInvalid
        # Registration's and activation's lock on the address, taken before any row lock
        # as they take it: a registration, an activation or another change to the same
        # address waits for us, or we see its account.
        await accounts.lock_keys(conn, f"email:{new_key}")
        link = await email_changes.claim(conn, token_hash)
        if link is None or link.is_used:
            raise LinkInvalid
        if tokens.is_expired(link.expires_at, now):
            raise EmailChangeLinkExpired
        account = await accounts.find_by_id(conn, link.account_id)
        if account is None or not account.is_active:
            raise LinkInvalid
        await _take_address(conn, account, link.new_email, link.new_email_key)
        await email_changes.use(conn, token_hash, now)
        await email_changes.void_unused(conn, account.id)
        # Reset links went to the old address, which no longer speaks for the account.
        await token_records.void_unused(conn, "reset", account.id)
        await security.audit(conn, now, "email_changed", caller.ip, account.id, account.customer_number)
        notice = EmailChanged(
            account_id=account.id, email=account.email, new_email=link.new_email,
            last_name=account.last_name, locale=account.locale, changed_at=now,
        )
        await outbox.enqueue(conn, new_event(notice, caller.correlation_id), SCHEMA)
    return str(link.new_email)


async def _take_address(conn: Executor, account: Account, new_email: str, new_key: str) -> None:
    holders = await accounts.holding_email(conn, new_key)
    if any(h.id != account.id and h.is_active for h in holders):
        raise EmailTaken
    # As when registering: a pending registration of the address gives way to the
    # customer who has just proved the mailbox is theirs.
    await accounts.delete_accounts(conn, [h.id for h in holders if not h.is_active])
    try:
        await accounts.change_email(conn, account.id, new_email, new_key)
    except asyncpg.UniqueViolationError:  # not expected under the lock; never a 500
        raise EmailTaken from None
