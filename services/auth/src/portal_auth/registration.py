"""Registration and activation (FAQ "Zur Registrierung", steps 1 and 2)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

from portal_auth import throttle
from portal_auth.config import SCHEMA
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import customers, email, ownership, password_policy, tokens
from portal_auth.domain.limits import ACTIVATE, CUSTOMER_CHALLENGES, OWNERSHIP_NOTICES, REGISTER
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
from portal_shared.events import (
    AccountExists,
    RegistrationContested,
    RegistrationCreated,
    RegistrationRefused,
    new_event,
)
from portal_shared.problems import FieldError, Problem

# Above the hashing time (~20-60 ms), so new and taken registrations end together.
UNIFORM_ANSWER_SECONDS = 0.15


async def register(ctx: AuthContext, form: RegisterRequest, caller: Caller) -> None:
    """Create a pending account and queue its activation mail — or, where the rules of
    `domain.ownership` say so, only tell those concerned.

    When the customer number or the address already belongs to an active account, or
    the address on file is not the one given, nothing is created: the owner or the
    address on file is told instead, and the caller gets the very same answer, after the
    same work (hashing, outbox events), so status, body and timing reveal nothing.
    """
    await ctx.limit(REGISTER, caller.ip)
    if not (form.accept_terms and form.accept_privacy):
        raise Problem(TERMS_NOT_ACCEPTED, _unaccepted(form))
    number = customers.normalise_customer_number(form.customer_number)
    address = email.clean(form.email)
    address_key = email.key(address)
    personal = password_policy.PersonalData(form.last_name, address, number)
    broken = password_policy.violations(form.password, personal)
    if broken:
        raise Problem(PASSWORD_POLICY, [FieldError("password", rule) for rule in broken])
    # Guessing a customer's last name or letter code (or number) gets slow past a few
    # wrong ones per number, whichever IPs ask: attempts then need a solved challenge.
    # Nobody is locked out, and a password the policy refuses guessed nothing and is not
    # counted.
    subject = throttle.customer_subject(number)
    async with (
        throttle.guess(ctx, subject, CUSTOMER_CHALLENGES, form.altcha, CUSTOMER_MISMATCH),
        lasting_at_least(UNIFORM_ANSWER_SECONDS),
    ):
        await _create_pending_or_notify(ctx, form, number, address, address_key, caller)


async def _create_pending_or_notify(
    ctx: AuthContext, form: RegisterRequest, number: str, address: str, address_key: str, caller: Caller
) -> None:
    async with ctx.pool.acquire() as conn:
        customer = await customer_records.find_customer(conn, number)
    code_hash = customer["registration_code_hash"] if customer else None
    entered_code = customers.normalise_registration_code(form.registration_code or "")
    # Both argon2 computations run for every registration, whether or not a code is on
    # file (a miss is checked against a dummy hash): the time tells nothing.
    password_hash, code_matches = await asyncio.gather(
        ctx.passwords.hash(form.password), ctx.passwords.verify(code_hash, entered_code)
    )
    if (
        customer is None
        or not customers.last_name_matches(customer["last_name"], form.last_name)
        or (code_hash is not None and not code_matches)
    ):
        raise Problem(CUSTOMER_MISMATCH)
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        await accounts.lock_keys(conn, f"customer:{number}", f"email:{address_key}")
        holders = {h["id"]: h for h in await accounts.accounts_holding(conn, number, address_key)}
        decision = ownership.decide(number, customer["email_key"], address_key, [
            ownership.Holding(h["id"], h["status"], h["customer_number"], h["email_key"])
            for h in holders.values()
        ])
        for owner_id in decision.notify:
            owner = holders[owner_id]
            notice = AccountExists(
                account_id=owner["id"], email=owner["email"],
                last_name=owner["last_name"], locale=owner["locale"],
            )
            await outbox.enqueue(conn, new_event(notice, caller.correlation_id), SCHEMA)
        # Anyone with an invoice can cause the ownership mails, so they are bounded per
        # customer number (quietly: the answer is the same either way).
        telling = bool(decision.refused or decision.contest) and await ctx.within(
            OWNERSHIP_NOTICES, number, conn
        )
        if decision.refused is not None:
            other = holders[decision.refused_about]["email"] if decision.refused_about else address
            refusal = RegistrationRefused(
                customer_number=number, email=customer["email"], last_name=customer["last_name"],
                locale=form.locale, reason=decision.refused, other_address=ownership.mask_email(other),
            )
            if telling:
                await outbox.enqueue(conn, new_event(refusal, caller.correlation_id), SCHEMA)
            await security.audit(
                conn, now, "registration_refused", caller.ip, customer_number=number,
                reason=decision.refused, sent=telling,
            )
        if not decision.create:
            return
        # A pending registration of the same address is replaced (the new link goes to
        # the same mailbox); those of the customer number from other addresses stay.
        await accounts.delete_accounts(conn, decision.replace)
        for rival_id in decision.contest if telling else ():
            rival = holders[rival_id]
            contested = RegistrationContested(
                account_id=rival["id"], customer_number=number, email=rival["email"],
                last_name=rival["last_name"], locale=rival["locale"], state="waiting",
            )
            await outbox.enqueue(conn, new_event(contested, caller.correlation_id), SCHEMA)
        account_id = uuid4()
        await accounts.insert_pending(
            conn, account_id, number, address, address_key, password_hash, form.locale, now,
            ctx.settings.terms_version, ctx.settings.privacy_version,
            registered_with_code=code_hash is not None,
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
    """Activate the pending account of a mailed link; the other pending registrations of
    its customer number are removed, and their registrants told.

    A registration that no longer proves what is on file (an address or a code imported
    while it was pending) is removed instead, and its link answers as invalid.
    """
    await ctx.limit(ACTIVATE, caller.ip)
    if not tokens.is_well_formed(token):
        raise Problem(TOKEN_INVALID)
    token_hash = tokens.hash_token(token)
    now = ctx.clock()
    refused = False
    async with ctx.pool.acquire() as conn, conn.transaction():
        candidate = await accounts.activation_candidate(conn, token_hash)
        if candidate is None:
            raise Problem(TOKEN_INVALID)
        number = candidate["customer_number"]
        # The same locks as registration, taken before any row lock, so the two wait
        # for each other instead of deadlocking.
        await accounts.lock_keys(conn, f"customer:{number}", f"email:{candidate['email_key']}")
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
        customer = await customer_records.find_customer(conn, number)
        holders = await accounts.holders_of_customer(conn, number)
        others = [h for h in holders if h["id"] != row["account_id"]]
        proves = customer is not None and ownership.may_activate(
            customer["email_key"], customer["registration_code_hash"] is not None,
            candidate["email_key"], candidate["registered_with_code"],
        )
        if not proves or any(h["status"] == "active" for h in others):
            await accounts.delete_accounts(conn, [row["account_id"]])
            await security.audit(conn, now, "activation_refused", caller.ip, row["account_id"], number)
            refused = True
        else:
            await token_records.use(conn, "activation", token_hash, now)
            await accounts.activate(conn, row["account_id"], now)
            await security.audit(conn, now, "account_activated", caller.ip, row["account_id"], number)
            await accounts.delete_accounts(conn, [h["id"] for h in others])
            for rival in others:
                cancelled = RegistrationContested(
                    account_id=rival["id"], customer_number=number, email=rival["email"],
                    last_name=rival["last_name"], locale=rival["locale"], state="cancelled",
                )
                await outbox.enqueue(conn, new_event(cancelled, caller.correlation_id), SCHEMA)
    if refused:
        # Raised after the block, so that the removal is committed.
        raise Problem(TOKEN_INVALID)


def _unaccepted(form: RegisterRequest) -> list[FieldError]:
    missing = []
    if not form.accept_terms:
        missing.append(FieldError("accept_terms", "required"))
    if not form.accept_privacy:
        missing.append(FieldError("accept_privacy", "required"))
    return missing
