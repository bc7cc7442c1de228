"""Versioned event schema: the envelope, the payloads, and the codec.

An event on the wire is one JSON object: the envelope fields plus `payload`. A payload
model is registered under its `(event_type, schema_version)`; `decode` refuses anything
that is not registered, so a consumer never guesses at a shape it does not know.
Changing a payload's fields means a new schema version, and the shape test in
`tests/unit/test_event_schema.py` makes that a visible decision.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from portal_shared.topology import RoutingKey

Locale = Literal["de", "en"]


class EventError(ValueError):
    """A message that cannot be turned into a known event; `reason` goes into the DLQ header."""

    reason: ClassVar[str] = "malformed"


class MalformedEvent(EventError):
    reason = "malformed"


class UnknownEventType(EventError):
    reason = "unknown_event_type"


class UnsupportedSchemaVersion(EventError):
    reason = "unsupported_schema_version"


class Payload(BaseModel):
    """Base of every payload; subclasses name their event type, version and routing key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int]
    routing_key: ClassVar[str]


class RegistrationCreated(Payload):
    """A pending account was created; the mailer sends the activation link."""

    event_type = "registration-created"
    schema_version = 1
    routing_key = RoutingKey.REGISTRATION_CREATED

    account_id: UUID
    customer_number: str
    email: str
    last_name: str
    locale: Locale = "de"
    activation_token: str
    expires_at: AwareDatetime


class AccountExists(Payload):
    """Someone registered with the customer number or address of an active account.

    The owner (`email` is the account's address, not the registrant's) gets a notice
    instead of an activation link; the registrant sees the same answer as anyone else.
    """

    event_type = "account-exists"
    schema_version = 1
    routing_key = RoutingKey.ACCOUNT_EXISTS

    account_id: UUID
    email: str
    last_name: str
    locale: Locale = "de"


class ResetRequested(Payload):
    """A password reset was requested for an active account; the mailer sends the link."""

    event_type = "reset-requested"
    schema_version = 1
    routing_key = RoutingKey.RESET_REQUESTED

    account_id: UUID
    email: str
    last_name: str
    locale: Locale = "de"
    reset_token: str
    expires_at: AwareDatetime


class PasswordChanged(Payload):
    """The password of an account changed (reset by mail link, or changed when logged in)."""

    event_type = "password-changed"
    schema_version = 1
    routing_key = RoutingKey.PASSWORD_CHANGED

    account_id: UUID
    email: str
    last_name: str
    locale: Locale = "de"
    changed_at: AwareDatetime
    via: Literal["reset", "change"]


class ActivationReminder(Payload):
    """The right password of a pending account was entered at login: the address gets a
    fresh activation link (older links stop working). The login itself is answered like
    a wrong password, so only the mailbox learns that the account exists."""

    event_type = "activation-reminder"
    schema_version = 1
    routing_key = RoutingKey.ACTIVATION_REMINDER

    account_id: UUID
    email: str
    last_name: str
    locale: Locale = "de"
    activation_token: str
    expires_at: AwareDatetime


class SuspiciousLogins(Payload):
    """Failed logins on an account reached the point where further attempts need a
    solved challenge: the owner is told (at most once a day) and offered a new password."""

    event_type = "suspicious-logins"
    schema_version = 1
    routing_key = RoutingKey.SUSPICIOUS_LOGINS

    account_id: UUID
    email: str
    last_name: str
    locale: Locale = "de"
    failed_attempts: int


class EmailChangeRequested(Payload):
    """A customer asked to change the account's address; the new address (`email`) gets
    the link that confirms it. Nothing changes until the link is used."""

    event_type = "email-change-requested"
    schema_version = 1
    routing_key = RoutingKey.EMAIL_CHANGE_REQUESTED

    account_id: UUID
    email: str  # the new address, which must confirm
    last_name: str
    locale: Locale = "de"
    confirm_token: str
    expires_at: AwareDatetime


class EmailChanged(Payload):
    """The account's address was changed; the old address (`email`) gets a notice."""

    event_type = "email-changed"
    schema_version = 1
    routing_key = RoutingKey.EMAIL_CHANGED

    account_id: UUID
    email: str  # the old address, which is told
    new_email: str
    last_name: str
    locale: Locale = "de"
    changed_at: AwareDatetime


class ContactRequested(Payload):
    """A visitor sent the contact form; support gets it, the sender a confirmation."""

    event_type = "contact-requested"
    schema_version = 1
    routing_key = RoutingKey.CONTACT_REQUESTED

    contact_id: UUID
    name: str
    email: str
    customer_number: str | None = None
    subject: str
    message: str
    locale: Locale = "de"


class RegistrationRefused(Payload):
    """A registration of a customer number whose address is on file created nothing.

    `email` is the address on file, never the registrant's. `reason`: `other_address`,
    the registration gave another address; `already_held`, it gave the address on file
    but an account with another address holds the customer number (support can release
    it). `other_address` is that other address, masked ("m***@g***.de").
    """

    event_type = "registration-refused"
    schema_version = 1
    routing_key = RoutingKey.REGISTRATION_REFUSED

    customer_number: str
    email: str
    last_name: str
    locale: Locale = "de"
    reason: Literal["other_address", "already_held"]
    other_address: str


class RegistrationContested(Payload):
    """Someone else registered the customer number of this pending registration.

    `waiting`: the other registration was started; this one stays valid until one of
    them is activated. `cancelled`: the other one was activated; this one was removed.
    """

    event_type = "registration-contested"
    schema_version = 1
    routing_key = RoutingKey.REGISTRATION_CONTESTED

    account_id: UUID
    customer_number: str
    email: str
    last_name: str
    locale: Locale = "de"
    state: Literal["waiting", "cancelled"]


class CustomerReleased(Payload):
    """Support released the customer number from this account (`portal-auth customer
    release`): the account, pending or active, was deleted, and its holder is told."""

    event_type = "customer-released"
    schema_version = 1
    routing_key = RoutingKey.CUSTOMER_RELEASED

    account_id: UUID
    customer_number: str
    email: str
    last_name: str
    locale: Locale = "de"
    status: Literal["pending", "active"]


PAYLOADS: dict[tuple[str, int], type[Payload]] = {
    (model.event_type, model.schema_version): model
    for model in (
        RegistrationCreated, AccountExists, ResetRequested, PasswordChanged, ContactRequested,
        ActivationReminder, SuspiciousLogins,
        RegistrationRefused, RegistrationContested, CustomerReleased,
        EmailChangeRequested, EmailChanged,
    )
}


class Envelope(BaseModel):
    """The fields every event carries, whatever its payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID = Field(default_factory=uuid4)
    event_type: str
    schema_version: int
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any]


class Event(BaseModel):
    """A decoded event: its envelope and its typed payload."""

    model_config = ConfigDict(frozen=True)

    envelope: Envelope
    payload: Payload

    @property
    def event_id(self) -> UUID:
        return self.envelope.event_id

    @property
    def routing_key(self) -> str:
        return self.payload.routing_key


def new_event(payload: Payload, correlation_id: str) -> Event:
    envelope = Envelope(
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        correlation_id=correlation_id,
        payload=payload.model_dump(mode="json"),
    )
    return Event(envelope=envelope, payload=payload)


def encode(event: Event) -> bytes:
    return event.envelope.model_dump_json().encode()


def decode(body: bytes) -> Event:
    """Parse a message body; raises an `EventError` subclass naming why it cannot."""
    try:
        raw = json.loads(body)
        envelope = Envelope.model_validate(raw)
    except (ValueError, ValidationError) as exc:
        raise MalformedEvent(f"not an event envelope: {_short(exc)}") from exc
    known_versions = {v for (t, v) in PAYLOADS if t == envelope.event_type}
    if not known_versions:
        raise UnknownEventType(f"unknown event type {envelope.event_type!r}")
    model = PAYLOADS.get((envelope.event_type, envelope.schema_version))
    if model is None:
        raise UnsupportedSchemaVersion(
            f"{envelope.event_type} has no schema version {envelope.schema_version}"
        )
    try:
        payload = model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise MalformedEvent(f"invalid {envelope.event_type} payload: {_short(exc)}") from exc
    return Event(envelope=envelope, payload=payload)


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
    return str(exc)[:200]
