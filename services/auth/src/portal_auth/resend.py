"""Sending the activation mail again (FAQ: „Keine E-Mail bekommen?“, „Link abgelaufen“).

Always the same answer after the same time: whether the address has a pending
registration is told only to that mailbox. The new link replaces the older ones and is
valid for ACTIVATION_TTL_HOURS again, so an expired link no longer means registering
again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from portal_auth.config import SCHEMA
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import email, tokens
from portal_auth.domain.accounts import Account, AccountStatus
from portal_auth.domain.limits import RESEND_PER_ADDRESS, RESEND_PER_IP
from portal_auth.repository import accounts, security
from portal_auth.repository import tokens as token_records
from portal_auth.timing import lasting_at_least
from portal_shared import outbox
from portal_shared.db import Executor
from portal_shared.events import RegistrationCreated, new_event

UNIFORM_ANSWER_SECONDS = 0.05  # above the extra work of a match (a few ms)


async def resend(ctx: AuthContext, address: str, caller: Caller) -> None:
    address_key = email.key(address)
    await ctx.limit(RESEND_PER_IP, caller.network)
    async with lasting_at_least(UNIFORM_ANSWER_SECONDS):
        if await ctx.limiter.hit(RESEND_PER_ADDRESS, address_key) is not None:
            return  # quietly: the same answer, no mail
        async with ctx.pool.acquire() as conn, conn.transaction():
            await _new_link_if_pending(ctx, conn, address_key, caller)


async def _new_link_if_pending(
    ctx: AuthContext, conn: Executor, address_key: str, caller: Caller
) -> None:
    now = ctx.clock()
    found = await accounts.find_by_email(conn, address_key)
    pending = found is not None and found.is_pending
    await security.audit(
        conn, now, "activation_resent", caller.ip, found.id if pending else None, matched=pending
    )
    if found is None or not pending:
        return
    link = await fresh_activation_link(ctx, conn, found, now)
    if link is None:
        return
    account, token, expires = link
    # The same event as the registration's: the mailer sends the same activation mail.
    created = RegistrationCreated(
        account_id=account.id, customer_number=account.customer_number, email=account.email,
        last_name=account.last_name, locale=account.locale, activation_token=token, expires_at=expires,
    )
    await outbox.enqueue(conn, new_event(created, caller.correlation_id), SCHEMA)


async def fresh_activation_link(
    ctx: AuthContext, conn: Executor, found: Account, now: datetime
) -> tuple[Account, str, datetime] | None:
    """A new activation link replacing the older ones, for an account still pending
    (None once it is not). Used by resend and by a login to a pending account."""
    # Registration's locks: a registration replacing this account waits for us, or we
    # find the account gone.
    await accounts.lock_keys(conn, f"customer:{found.customer_number}", f"email:{found.email_key}")
    account = await accounts.find_by_email_keeping(conn, found.email_key)
    if account is None or account.id != found.id or not account.is_pending:
        return None
    # Removing the older links waits for an activation that is using one of them right
    # now; after it, the account may be active and needs no new link.
    await token_records.void_unused(conn, "activation", account.id)
    if await accounts.status_of(conn, account.id) is not AccountStatus.PENDING:
        return None
    token, token_hash = tokens.new_token()
    expires = now + timedelta(hours=ctx.settings.activation_ttl_hours)
    await token_records.insert(conn, "activation", token_hash, account.id, now, expires)
    return account, token, expires
