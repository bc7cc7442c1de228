"""The JSON shape of every event is pinned here: changing it must be a visible decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

import pytest

from portal_shared import events
from portal_shared.events import (
    AccountExists,
    ActivationReminder,
    ContactRequested,
    CustomerReleased,
    EmailChanged,
    EmailChangeRequested,
    Envelope,
    MalformedEvent,
    PasswordChanged,
    RegistrationContested,
    RegistrationCreated,
    RegistrationRefused,
    ResetRequested,
    SuspiciousLogins,
    UnknownEventType,
    UnsupportedSchemaVersion,
    decode,
    encode,
    new_event,
)
from portal_shared.topology import MAILER_ROUTING_KEYS

ACCOUNT = UUID("3f2b8a5e-0000-4000-8000-000000000001")
EXPIRES = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def registration() -> RegistrationCreated:
    return RegistrationCreated(
        account_id=ACCOUNT, customer_number="10001", email="max@example.de",
        last_name="Mustermann", locale="de", activation_token="t" * 43, expires_at=EXPIRES,
    )


def test_envelope_fields_are_pinned() -> None:
    assert list(Envelope.model_fields) == [
        "event_id", "event_type", "schema_version", "occurred_at", "correlation_id", "payload"
    ]


@pytest.mark.parametrize(
    ("model", "event_type", "version", "routing_key", "fields"),
    [
        (RegistrationCreated, "registration-created", 1, "auth.registration-created",
         ["account_id", "customer_number", "email", "last_name", "locale", "activation_token", "expires_at"]),
        (ResetRequested, "reset-requested", 1, "auth.reset-requested",
         ["account_id", "email", "last_name", "locale", "reset_token", "expires_at"]),
        (AccountExists, "account-exists", 1, "auth.account-exists",
         ["account_id", "email", "last_name", "locale"]),
        (PasswordChanged, "password-changed", 1, "auth.password-changed",
         ["account_id", "email", "last_name", "locale", "changed_at", "via"]),
        (ContactRequested, "contact-requested", 1, "faq.contact-requested",
         ["contact_id", "name", "email", "customer_number", "subject", "message", "locale"]),
        (ActivationReminder, "activation-reminder", 1, "auth.activation-reminder",
         ["account_id", "email", "last_name", "locale", "activation_token", "expires_at"]),
        (SuspiciousLogins, "suspicious-logins", 1, "auth.suspicious-logins",
         ["account_id", "email", "last_name", "locale", "failed_attempts"]),
        (RegistrationRefused, "registration-refused", 1, "auth.registration-refused",
         ["customer_number", "email", "last_name", "locale", "reason", "other_address"]),
        (RegistrationContested, "registration-contested", 1, "auth.registration-contested",
         ["account_id", "customer_number", "email", "last_name", "locale", "state"]),
        (CustomerReleased, "customer-released", 1, "auth.customer-released",
         ["account_id", "customer_number", "email", "last_name", "locale", "status"]),
        (EmailChangeRequested, "email-change-requested", 1, "auth.email-change-requested",
         ["account_id", "email", "last_name", "locale", "confirm_token", "expires_at"]),
        (EmailChanged, "email-changed", 1, "auth.email-changed",
         ["account_id", "email", "new_email", "last_name", "locale", "changed_at"]),
    ],
)
def test_payload_shapes_are_pinned(model, event_type, version, routing_key, fields) -> None:  # type: ignore[no-untyped-def]
    assert (model.event_type, model.schema_version, model.routing_key) == (event_type, version, routing_key)
    assert list(model.model_fields) == fields


def test_registered_payloads_are_exactly_the_known_events() -> None:
    assert set(events.PAYLOADS) == {
        ("registration-created", 1), ("account-exists", 1), ("reset-requested", 1),
        ("password-changed", 1), ("contact-requested", 1), ("activation-reminder", 1),
        ("suspicious-logins", 1),
        ("registration-refused", 1), ("registration-contested", 1), ("customer-released", 1),
        ("email-change-requested", 1), ("email-changed", 1),
    }


def test_the_mailer_receives_every_auth_event_that_leads_to_a_mail() -> None:
    for model in (RegistrationRefused, RegistrationContested, CustomerReleased):
        assert model.routing_key in MAILER_ROUTING_KEYS


def test_wire_format_round_trips_and_is_plain_json() -> None:
    event = new_event(registration(), correlation_id="req-1")
    wire = json.loads(encode(event))
    assert wire["event_type"] == "registration-created"
    assert wire["schema_version"] == 1
    assert wire["correlation_id"] == "req-1"
    assert wire["payload"]["expires_at"] == "2026-11-25T12:00:00Z"
    assert wire["payload"]["account_id"] == str(ACCOUNT)
    assert decode(encode(event)) == event


def test_unknown_type_and_version_are_refused_with_a_reason() -> None:
    wire = json.loads(encode(new_event(registration(), "c")))
    with pytest.raises(UnknownEventType) as unknown:
        decode(json.dumps(wire | {"event_type": "something-else"}).encode())
    with pytest.raises(UnsupportedSchemaVersion) as version:
        decode(json.dumps(wire | {"schema_version": 99}).encode())
    assert (unknown.value.reason, version.value.reason) == ("unknown_event_type", "unsupported_schema_version")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"event_type": "registration-created"}', b"\xff\xfe"],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedEvent):
        decode(body)


def test_a_payload_that_misses_a_field_is_malformed() -> None:
    wire = json.loads(encode(new_event(registration(), "c")))
    del wire["payload"]["activation_token"]
    with pytest.raises(MalformedEvent, match="activation_token"):
        decode(json.dumps(wire).encode())


def test_occurred_at_must_carry_a_time_zone() -> None:
    wire = json.loads(encode(new_event(registration(), "c")))
    wire["occurred_at"] = "2026-11-24T10:00:00"
    with pytest.raises(MalformedEvent):
        decode(json.dumps(wire).encode())
