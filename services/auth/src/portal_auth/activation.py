"""Activation (FAQ "Zur Registrierung", step 2): the mailed link makes the pending
registration the customer number's account."""

from __future__ import annotations

from portal_auth.config import SCHEMA
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import ownership, tokens
from portal_auth.domain.errors import ActivationLinkExpired, AlreadyActivated, LinkInvalid
from portal_auth.domain.limits import ACTIVATE
from portal_auth.repository import accounts, security
from portal_auth.repository import customers as customer_records
from portal_auth.repository import tokens as token_records
from portal_shared import outbox
from portal_shared.events import RegistrationContested, new_event


async def activate(ctx: AuthContext, token: str, caller: Caller) -> None:
    """Activate the pending account of a mailed link; the other pending registrations of
    its customer number are removed, and their registrants told.

    A registration that no longer proves what is on file (an address or a code imported
    while it was pending) is removed instead, and its link answers as invalid.
    """
    await ctx.limit(ACTIVATE, caller.network)
    if not tokens.is_well_formed(token):
        raise LinkInvalid
    token_hash = tokens.hash_token(token)
    now = ctx.clock()
    refused = False
    async with ctx.pool.acquire() as conn, conn.transaction():
        candidate = await accounts.activation_candidate(conn, token_hash)
        if candidate is None:
            raise LinkInvalid
        number = candidate.customer_number
        # The same locks as registration, taken before any row lock, so the two wait
        # for each other instead of deadlocking.
        await accounts.lock_keys(conn, f"customer:{number}", f"email:{candidate.email_key}")
        link = await token_records.claim(conn, "activation", token_hash)
        if link is None:
            raise LinkInvalid
        if link.is_used:
            # A used link of an active account (one of a deleted or replaced account is
            # gone with it): say so rather than "invalid". Only the mailbox that got the
            # link learns this.
            account = await accounts.find_by_id(conn, link.account_id)
            raise AlreadyActivated if account is not None and account.is_active else LinkInvalid
        if tokens.is_expired(link.expires_at, now):
            raise ActivationLinkExpired
        customer = await customer_records.find_customer(conn, number)
        holders = await accounts.holders_of_customer(conn, number)
        others = [h for h in holders if h.id != link.account_id]
        if not ownership.activation_goes_ahead(customer, candidate, others):
            await accounts.delete_accounts(conn, [link.account_id])
            await security.audit(conn, now, "activation_refused", caller.ip, link.account_id, number)
            refused = True
        else:
            await token_records.use(conn, "activation", token_hash, now)
            await accounts.activate(conn, link.account_id, now)
            await security.audit(conn, now, "account_activated", caller.ip, link.account_id, number)
            await accounts.delete_accounts(conn, [h.id for h in others])
            for rival in others:
                cancelled = RegistrationContested(
                    account_id=rival.id, customer_number=number, email=rival.email,
                    last_name=rival.last_name, locale=rival.locale, state="cancelled",
                )
                await outbox.enqueue(conn, new_event(cancelled, caller.correlation_id), SCHEMA)
    if refused:
        # Raised after the block, so that the removal is committed.
        raise LinkInvalid
