"""The auth use cases: each one validates with the domain rules, then reads and writes
through the repository in one transaction. Handlers call these and format the result."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from portal_auth import repository as repo
from portal_auth.access_tokens import AccessClaims, AccessTokens, InvalidAccessToken
from portal_auth.config import SCHEMA, AuthSettings
from portal_auth.domain import customers, email, password_policy, tokens
from portal_auth.passwords import Passwords
from portal_auth.problems import (
    ACCOUNT_NOT_ACTIVATED,
    CUSTOMER_MISMATCH,
    INVALID_CREDENTIALS,
    PASSWORD_POLICY,
    TERMS_NOT_ACCEPTED,
    TOKEN_EXPIRED,
    TOKEN_INVALID,
)
from portal_auth.schemas import RegisterRequest
from portal_shared import outbox
from portal_shared.events import RegistrationCreated, new_event
from portal_shared.problems import UNAUTHORIZED, FieldError, Problem

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


class AuthService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        passwords: Passwords,
        access_tokens: AccessTokens,
        settings: AuthSettings,
        clock: Clock = utc_now,
    ) -> None:
        self._pool = pool
        self._passwords = passwords
        self._access_tokens = access_tokens
        self._settings = settings
        self._clock = clock

    async def register(self, form: RegisterRequest, correlation_id: str) -> None:
        """Create a pending account and queue its activation mail.

        An address or customer number that already has an active account answers the
        same way and changes nothing, so the response does not reveal who is registered.
        """
        if not (form.accept_terms and form.accept_privacy):
            raise Problem(TERMS_NOT_ACCEPTED, _unaccepted(form))
        broken = password_policy.violations(form.password)
        if broken:
            raise Problem(PASSWORD_POLICY, [FieldError("password", rule) for rule in broken])
        number = customers.normalise_customer_number(form.customer_number)
        address = email.clean(form.email)
        address_key = email.key(address)
        # Hash before looking anything up: every accepted registration costs the same.
        password_hash = await self._passwords.hash(form.password)
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            customer = await repo.find_customer(conn, number)
            if customer is None or not customers.last_name_matches(
                customer["last_name"], form.last_name
            ):
                raise Problem(CUSTOMER_MISMATCH)
            await repo.lock_registration_keys(conn, f"customer:{number}", f"email:{address_key}")
            holders = await repo.accounts_holding(conn, number, address_key)
            if any(h["status"] == "active" for h in holders):
                return
            # A pending registration for the same customer or address is replaced: the
            # newest link is the one that works.
            await repo.delete_accounts(conn, [h["id"] for h in holders])
            account_id = uuid4()
            await repo.insert_pending_account(
                conn, account_id, number, address, address_key, password_hash, form.locale, now
            )
            token, token_hash = tokens.new_token()
            expires = tokens.expires_at(now, timedelta(hours=self._settings.activation_ttl_hours))
            await repo.insert_activation_token(conn, token_hash, account_id, now, expires)
            payload = RegistrationCreated(
                account_id=account_id,
                customer_number=number,
                email=address,
                last_name=customer["last_name"],
                locale=form.locale,
                activation_token=token,
                expires_at=expires,
            )
            await outbox.enqueue(conn, new_event(payload, correlation_id), SCHEMA)

    async def activate(self, token: str) -> None:
        if not tokens.is_well_formed(token):
            raise Problem(TOKEN_INVALID)
        token_hash = tokens.hash_token(token)
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repo.claim_activation_token(conn, token_hash)
            if row is None or row["used_at"] is not None:
                raise Problem(TOKEN_INVALID)
            if tokens.is_expired(row["expires_at"], now):
                raise Problem(TOKEN_EXPIRED)
            await repo.use_activation_token(conn, token_hash, now)
            await repo.activate_account(conn, row["account_id"], now)

    async def login(self, address: str, password: str) -> TokenPair:
        async with self._pool.acquire() as conn:
            account = await repo.find_login(conn, email.key(address))
        stored_hash = account["password_hash"] if account else None
        # An unknown address is verified against a dummy hash: same answer, same time.
        if not await self._passwords.verify(stored_hash, password):
            raise Problem(INVALID_CREDENTIALS)
        assert account is not None
        if account["status"] != "active":
            raise Problem(ACCOUNT_NOT_ACTIVATED)
        return await self._open_session(account["id"], stored_hash, password)

    async def _open_session(self, account_id: UUID, stored_hash: str, password: str) -> TokenPair:
        now = self._clock()
        session_id = uuid4()
        refresh_token = secrets.token_urlsafe(tokens.TOKEN_BYTES)
        refresh_expires = now + timedelta(days=self._settings.refresh_token_ttl_days)
        upgraded_hash = (
            await self._passwords.hash(password) if self._passwords.needs_rehash(stored_hash) else None
        )
        async with self._pool.acquire() as conn, conn.transaction():
            if upgraded_hash is not None:
                await repo.update_password_hash(conn, account_id, upgraded_hash)
            await repo.insert_session(
                conn, session_id, account_id, now, tokens.hash_token(refresh_token), refresh_expires
            )
        access = self._access_tokens.issue(AccessClaims(account_id, session_id, ()), now)
        return TokenPair(access, refresh_token, int(self._access_tokens.ttl.total_seconds()))

    async def profile(self, bearer_token: str) -> asyncpg.Record:
        try:
            claims = self._access_tokens.verify(bearer_token)
        except InvalidAccessToken:
            raise Problem(UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"}) from None
        async with self._pool.acquire() as conn:
            profile = await repo.find_profile(conn, claims.session_id, claims.account_id)
        if profile is None:
            raise Problem(UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
        return profile


def _unaccepted(form: RegisterRequest) -> list[FieldError]:
    missing = []
    if not form.accept_terms:
        missing.append(FieldError("accept_terms", "required"))
    if not form.accept_privacy:
        missing.append(FieldError("accept_privacy", "required"))
    return missing
