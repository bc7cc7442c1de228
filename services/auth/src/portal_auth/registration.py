"""Registration and activation (FAQ "Zur Registrierung", steps 1 and 2)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from portal_auth.config import SCHEMA
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import customers, email, password_policy, tokens
from portal_auth.domain.limits import ACTIVATE, REGISTER, REGISTER_PER_CUSTOMER
from portal_auth.problems import (
    ALREADY_ACTIVATED,
    CUSTOMER_MISMATCH,
    PASSWORD_POLICY,
    TERMS_NOT_ACCEPTED,
    TOKEN_EXPIRED,
    TOKEN_INVALID,
)
from portal_auth.repository import accounts, security
from portal_auth.repository import customers as customer_records
from portal_auth.repository import tokens as token_records
from portal_auth.schemas import RegisterRequest
from portal_auth.timing import lasting_at_least
from portal_shared import outbox
from portal_shared.events import AccountExists, RegistrationCreated, new_event
from portal_shared.problems import FieldError, Problem

# Above the hashing time (~20-60 ms), so new and taken registrations end together.
UNIFORM_ANSWER_SECONDS = 0.15


async def register(ctx: AuthContext, form: RegisterRequest, caller: Caller) -> None:
    """Create a pending account and queue its activation mail.

    When the customer number or the address already belongs to an active account, the
    owner is notified instead and the caller gets the very same answer, after the same
    work (hashing, one outbox event), so status, body and timing reveal nothing.
    """
    await ctx.limit(REGISTER, caller.ip)
    if not (form.accept_terms and form.accept_privacy):
        raise Problem(TERMS_NOT_ACCEPTED, _unaccepted(form))
    number = customers.normalise_customer_number(form.customer_number)
    await ctx.limit(REGISTER_PER_CUSTOMER, number)
    address = email.clean(form.email)
    address_key = email.key(address)
    personal = password_policy.PersonalData(form.last_name, address, number)
    broken = password_policy.violations(form.password, personal)
    if broken:
        raise Problem(PASSWORD_POLICY, [FieldError("password", rule) for rule in broken])
    async with lasting_at_least(UNIFORM_ANSWER_SECONDS):
        await _create_pending_or_notify(ctx, form, number, address, address_key, caller)


async def _create_pending_or_notify(
    ctx: AuthContext, form: RegisterRequest, number: str, address: str, address_key: str, caller: Caller
) -> None:
    password_hash = await ctx.passwords.hash(form.password)
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        customer = await customer_records.find_customer(conn, number)
        if customer is None or not customers.last_name_matches(customer["last_name"], form.last_name):
            raise Problem(CUSTOMER_MISMATCH)
        await accounts.lock_keys(conn, f"customer:{number}", f"email:{address_key}")
        holders = await accounts.accounts_holding(conn, number, address_key)
        active = [h for h in holders if h["status"] == "active"]
        if active:
            for owner in active:
                notice = AccountExists(
                    account_id=owner["id"], email=owner["email"],
                    last_name=owner["last_name"], locale=owner["locale"],
                )
                await outbox.enqueue(conn, new_event(notice, caller.correlation_id), SCHEMA)
            return
        # A pending registration for the same customer or address is replaced: only
        # the newest link works.
        await accounts.delete_accounts(conn, [h["id"] for h in holders])
        account_id = uuid4()
        await accounts.insert_pending(
            conn, account_id, number, address, address_key, password_hash, form.locale, now,
            ctx.settings.terms_version, ctx.settings.privacy_version,
        )
        await accounts.add_history(conn, account_id, password_hash, now, ctx.settings.password_history_size)
        token, token_hash = tokens.new_token()
        expires = now + timedelta(hours=ctx.settings.activation_ttl_hours)
        await token_records.insert(conn, "activation", token_hash, account_id, now, expires)
        created = RegistrationCreated(
            account_id=account_id, customer_number=number, email=address,
            last_name=customer["last_name"], locale=form.locale,
            activation_token=token, expires_at=expires,
        )
        await outbox.enqueue(conn, new_event(created, caller.correlation_id), SCHEMA)


async def activate(ctx: AuthContext, token: str, caller: Caller) -> None:
    await ctx.limit(ACTIVATE, caller.ip)
    if not tokens.is_well_formed(token):
        raise Problem(TOKEN_INVALID)
    token_hash = tokens.hash_token(token)
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await token_records.claim(conn, "activation", token_hash)
        if row is None:
            raise Problem(TOKEN_INVALID)
        if row["used_at"] is not None:
            # A used link of an active account (one of a deleted or replaced account is
            # gone with it): say so rather than "invalid". Only the mailbox that got the
            # link learns this.
            account = await accounts.find_by_id(conn, row["account_id"])
            active = account is not None and account["status"] == "active"
            raise Problem(ALREADY_ACTIVATED if active else TOKEN_INVALID)
        if tokens.is_expired(row["expires_at"], now):
            raise Problem(TOKEN_EXPIRED)
        await token_records.use(conn, "activation", token_hash, now)
        await accounts.activate(conn, row["account_id"], now)
        await security.audit(conn, now, "account_activated", caller.ip, row["account_id"])


def _unaccepted(form: RegisterRequest) -> list[FieldError]:
    missing = []
    if not form.accept_terms:
        missing.append(FieldError("accept_terms", "required"))
    if not form.accept_privacy:
        missing.append(FieldError("accept_privacy", "required"))
    return missing
