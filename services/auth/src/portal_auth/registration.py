"""Registration (FAQ "Zur Registrierung", step 1); activating it is `activation`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

from portal_auth import throttle
from portal_auth.config import SCHEMA
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import customers, email, ownership, password_policy, tokens
from portal_auth.domain.errors import (
    CustomerMismatch,
    PasswordPolicyViolated,
    TermsNotAccepted,
)
from portal_auth.domain.limits import (
    CUSTOMER_CHALLENGES,
    OWNERSHIP_NOTICES,
    REGISTER,
    REGISTER_FORMS,
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
    await ctx.limit(REGISTER_FORMS, caller.network)
    if not (form.accept_terms and form.accept_privacy):
        raise TermsNotAccepted(_unaccepted(form))
    number = customers.normalise_customer_number(form.customer_number)
    address = email.clean(form.email)
    address_key = email.key(address)
    personal = password_policy.PersonalData(form.last_name, address, number)
    broken = password_policy.violations(form.password, personal)
    if broken:
        raise PasswordPolicyViolated(broken)
    # Counted from here: what follows costs two hashes and looks at the customer's data.
    # A form refused above cost nothing and told nothing, so a customer (or an office
    # behind one address) fixing a password or a missed checkbox is never held up.
    await ctx.limit(REGISTER, caller.network)
    # Guessing a customer's last name or letter code (or number) gets slow past a few
    # wrong ones per number, whichever IPs ask: attempts then need a solved challenge.
    # Nobody is locked out, and a password the policy refuses guessed nothing and is not
    # counted.
    subject = throttle.customer_subject(number)
    async with (
        throttle.guess(ctx, subject, CUSTOMER_CHALLENGES, form.altcha, CustomerMismatch),
        lasting_at_least(UNIFORM_ANSWER_SECONDS),
    ):
        await _create_pending_or_notify(ctx, form, number, address, address_key, caller)


async def _create_pending_or_notify(
    ctx: AuthContext, form: RegisterRequest, number: str, address: str, address_key: str, caller: Caller
) -> None:
    async with ctx.pool.acquire() as conn:
        customer = await customer_records.find_customer(conn, number)
    code_hash = customer.registration_code_hash if customer else None
    entered_code = customers.normalise_registration_code(form.registration_code or "")
    # Both argon2 computations run for every registration, whether or not a code is on
    # file (a miss is checked against a dummy hash): the time tells nothing.
    password_hash, code_matches = await asyncio.gather(
        ctx.passwords.hash(form.password), ctx.passwords.verify(code_hash, entered_code)
    )
    if (
        customer is None
        or not customers.last_name_matches(customer.last_name, form.last_name)
        or (code_hash is not None and not code_matches)
    ):
        raise CustomerMismatch
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        await accounts.lock_keys(conn, f"customer:{number}", f"email:{address_key}")
        holders = {h.id: h for h in await accounts.accounts_holding(conn, number, address_key)}
        decision = ownership.decide(number, customer.email_key, address_key, list(holders.values()))
        for owner_id in decision.notify:
            owner = holders[owner_id]
            notice = AccountExists(
                account_id=owner.id, email=owner.email, last_name=owner.last_name, locale=owner.locale,
            )
            await outbox.enqueue(conn, new_event(notice, caller.correlation_id), SCHEMA)
        # Anyone with an invoice can cause the ownership mails, so they are bounded per
        # customer number (quietly: the answer is the same either way).
        telling = bool(decision.refused or decision.contest) and await ctx.within(
            OWNERSHIP_NOTICES, number, conn
        )
        if decision.refused is not None:
            other = holders[decision.refused_about].email if decision.refused_about else address
            refusal = RegistrationRefused(
                customer_number=number, email=customer.email, last_name=customer.last_name,
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
                account_id=rival.id, customer_number=number, email=rival.email,
                last_name=rival.last_name, locale=rival.locale, state="waiting",
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
            last_name=customer.last_name, locale=form.locale,
            activation_token=token, expires_at=expires,
        )
        await outbox.enqueue(conn, new_event(created, caller.correlation_id), SCHEMA)


def _unaccepted(form: RegisterRequest) -> list[str]:
    return [name for name, given in (("accept_terms", form.accept_terms), ("accept_privacy", form.accept_privacy))
            if not given]
