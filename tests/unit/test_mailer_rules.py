"""The mailer's small decisions: settings it accepts, SMTP errors it retries or gives up on,
how long it waits before a retry, which links are too old to mail, what a dead letter says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiosmtplib
import asyncpg
import pytest

from portal_mailer.config import MailerSettings, get_settings
from portal_mailer.copies import original_route
from portal_mailer.dead_letters import DeadLetter, describe, format_table
from portal_mailer.domain.failures import (
    RenderFailed,
    UnsendableAddress,
    build_failure,
    failure_detail,
)
from portal_mailer.domain.mails import PlannedMail, link_expired
from portal_mailer.domain.outcomes import GiveUp, MailResult, Retry, before_sending
from portal_mailer.domain.retry import ATTEMPTS_HEADER, RetryPolicy, after_failure, attempt_of
from portal_mailer.smtp import (
    PermanentSmtpError,
    TransientSmtpError,
    classify,
    client_options,
    credentials,
)
from portal_mailer.topology import owned_queue_names, retry_queue_name
from portal_shared import topology
from portal_shared.email_address import InvalidAddress, UnsupportedAddress
from portal_shared.settings import ConfigurationError


def test_defaults_match_the_shared_topology_and_the_documented_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in MailerSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = MailerSettings()

    assert settings.mailer_port == 8083
    assert settings.smtp_host == "127.0.0.1"
    assert settings.smtp_port == 1025
    assert settings.smtp_security == "none"
    assert settings.mailer_concurrency == 8
    assert settings.mail_timezone == "Europe/Berlin"
    assert settings.mailer_queue == topology.MAILER_QUEUE
    assert settings.mailer_dead_letter_queue == topology.MAILER_DEAD_LETTER_QUEUE
    assert settings.dead_letter_exchange == topology.DEAD_LETTER_EXCHANGE


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_SECURITY", "starttls")
    monkeypatch.setenv("SMTP_PASSWORD", "geheim")
    monkeypatch.setenv("MAILER_CONCURRENCY", "3")

    settings = get_settings()

    assert settings.smtp_security == "starttls"
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "geheim"
    assert "geheim" not in repr(settings)
    assert settings.mailer_concurrency == 3


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAIL_TIMEZONE", "Europe/Nowhere"),
        ("MAILER_CONCURRENCY", "0"),
        ("MAILER_CONCURRENCY", "257"),
        ("SMTP_SECURITY", "ssl"),
        ("MAILER_DATABASE_URL", "mysql://localhost/portal"),
        ("PORTAL_BASE_URL", "not a url"),
        ("MAIL_FROM", "Kundenportal"),
        ("MAIL_FROM", "Kundenportal <jörg@example.de>"),
        ("SUPPORT_EMAIL", "hilfe"),
        ("SUPPORT_EMAIL", "jörg@example.de"),
    ],
)
def test_a_wrong_value_stops_the_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigurationError, match=variable):
        get_settings()


@pytest.mark.parametrize(
    "error",
    [
        aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(550, "no such user", "x@example.de")]
        ),
        aiosmtplib.SMTPDataError(554, "message rejected as spam"),
        aiosmtplib.SMTPSenderRefused(553, "sender not allowed", "no-reply@example.de"),
        aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server"),
        ValueError("address contains a line break"),
    ],
    ids=["recipient-550", "data-554", "sender-553", "utf8-address", "bad-address"],
)
def test_refusals_of_this_mail_are_permanent(error: Exception) -> None:
    assert isinstance(classify(error), PermanentSmtpError)


@pytest.mark.parametrize(
    "error",
    [
        aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(451, "greylisted", "x@example.de")]
        ),
        aiosmtplib.SMTPDataError(451, "local error in processing"),
        aiosmtplib.SMTPResponseException(421, "service not available"),
        # The server's own trouble with logins or greetings (a refusal pauses: see
        # test_mailer_smtp_setup.py).
        aiosmtplib.SMTPAuthenticationError(454, "temporary authentication failure"),
        aiosmtplib.SMTPHeloError(421, "too busy"),
        aiosmtplib.SMTPServerDisconnected("connection lost"),
        aiosmtplib.SMTPReadTimeoutError("timed out"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
    ids=[
        "recipient-451", "data-451", "421", "auth-454", "helo-421", "disconnect", "timeout", "refused"
    ],
)
def test_passing_troubles_are_transient(error: Exception) -> None:
    assert isinstance(classify(error), TransientSmtpError)


def test_error_details_name_the_code_but_never_the_server_text() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "<max@example.de> unknown", "max@example.de")]
    )
    data = aiosmtplib.SMTPDataError(554, "rejected mail for max@example.de")

    assert classify(refused).detail == "recipient refused 550"
    assert classify(data).detail == "SMTPDataError 554"
    assert "example.de" not in classify(refused).detail + classify(data).detail


@pytest.mark.parametrize(
    ("security", "use_tls", "start_tls"),
    [("none", False, False), ("starttls", False, True), ("tls", True, False)],
)
def test_smtp_security_maps_to_the_connection_options(
    security: str, use_tls: bool, start_tls: bool
) -> None:
    options = client_options(MailerSettings(smtp_security=security))  # type: ignore[arg-type]

    assert (options["use_tls"], options["start_tls"]) == (use_tls, start_tls)


def test_smtp_credentials_and_timeout_are_passed_on() -> None:
    settings = MailerSettings(
        smtp_username="mailer", smtp_password="geheim", smtp_timeout_seconds=7  # type: ignore[arg-type]
    )

    options = client_options(settings)

    # The mailer logs in itself, with one mechanism (aiosmtplib would try them all).
    assert "username" not in options and "password" not in options
    assert credentials(settings) == ("mailer", "geheim")
    assert options["timeout"] == 7
    assert credentials(MailerSettings()) is None


# --- retries -----------------------------------------------------------------------


def test_retry_defaults_grow_fivefold_and_allow_six_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in MailerSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    policy = RetryPolicy.from_settings(MailerSettings())

    assert policy.max_attempts == 6
    assert [policy.delay_after(attempt) for attempt in range(1, 6)] == [5, 25, 125, 625, 3125]


@pytest.mark.parametrize("text", ["0.2,0.4, 0.8", "[0.2, 0.4, 0.8]"])
def test_retry_delays_are_read_as_a_list_or_json(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("MAILER_RETRY_DELAYS_SECONDS", text)
    monkeypatch.setenv("MAILER_MAX_ATTEMPTS", "3")

    settings = get_settings()

    assert settings.mailer_retry_delays_seconds == (0.2, 0.4, 0.8)
    assert settings.mailer_max_attempts == 3


@pytest.mark.parametrize("text", ["", "0", "-1,5", "5,abc", "[]", "1,2,3,4,5,6,7,8,9,10,11"])
def test_unusable_retry_delays_stop_the_start(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("MAILER_RETRY_DELAYS_SECONDS", text)

    with pytest.raises(ConfigurationError, match="MAILER_RETRY_DELAYS_SECONDS"):
        get_settings()


def test_the_last_delay_repeats_until_the_attempts_are_used_up() -> None:
    policy = RetryPolicy(delays=(1, 10), max_attempts=5)

    assert [policy.delay_after(attempt) for attempt in (1, 2, 3, 4)] == [1, 10, 10, 10]
    assert [policy.gives_up_after(attempt) for attempt in (1, 4, 5)] == [False, False, True]


@pytest.mark.parametrize(
    ("headers", "attempt"),
    [
        (None, 1),
        ({}, 1),
        ({ATTEMPTS_HEADER: 0}, 1),
        ({ATTEMPTS_HEADER: 2}, 3),
        # Hand-made or damaged headers count as a first attempt instead of failing.
        ({ATTEMPTS_HEADER: "2"}, 1),
        ({ATTEMPTS_HEADER: -4}, 1),
        ({ATTEMPTS_HEADER: True}, 1),
    ],
)
def test_attempt_number_comes_from_the_header(headers: dict | None, attempt: int) -> None:
    assert attempt_of(headers) == attempt


POLICY = RetryPolicy(delays=(0.5, 2.0), max_attempts=3)


@pytest.mark.parametrize(
    ("error", "attempt", "decision"),
    [
        (TransientSmtpError("SMTPDataError 451"), 1, Retry(0.5)),
        (TransientSmtpError("connect: ConnectionRefusedError"), 2, Retry(2.0)),
        (ConnectionRefusedError(), 1, Retry(0.5)),  # the database, for instance
        (TransientSmtpError("SMTPDataError 451"), 3, GiveUp("retries_exhausted")),
        (PermanentSmtpError("recipient refused 550"), 1, GiveUp("smtp_permanent")),
        (RenderFailed("KeyError"), 1, GiveUp("render_failed")),
        (UnsendableAddress("recipient: not ASCII before the @"), 1, GiveUp("unsendable_address")),
    ],
    ids=["4xx", "unreachable", "database", "last-attempt", "5xx", "render", "address"],
)
def test_what_follows_a_failed_mail(error: Exception, attempt: int, decision: object) -> None:
    assert after_failure(error, attempt, POLICY) == decision


@pytest.mark.parametrize(
    ("error", "reason", "detail"),
    [
        (UnsupportedAddress("x"), "unsendable_address", "render: recipient: not ASCII before the @"),
        (InvalidAddress("x"), "unsendable_address", "render: recipient: not an address"),
        (UnicodeEncodeError("ascii", "jörg", 1, 2, "x"), "render_failed", "render: UnicodeEncodeError"),
        (KeyError("name"), "render_failed", "render: KeyError"),
    ],
)
def test_a_mail_that_cannot_be_built_is_given_up_at_once(
    error: Exception, reason: str, detail: str
) -> None:
    failure = build_failure(error)

    assert after_failure(failure, 1, POLICY) == GiveUp(reason)
    assert failure_detail(failure) == detail


def test_failure_details_name_the_error_not_the_server_text() -> None:
    assert failure_detail(classify(aiosmtplib.SMTPDataError(451, "busy, max@example.de"))) == (
        "SMTPDataError 451"
    )
    assert failure_detail(OSError("secret path")) == "OSError"
    database_error = asyncpg.UniqueViolationError("duplicate key")
    database_error.detail = "Key (email)=(max@example.de) already exists."  # type: ignore[attr-defined]
    assert failure_detail(database_error) == "UniqueViolationError"
    assert failure_detail(RenderFailed("UndefinedError")) == "render: UndefinedError"


# --- expiry ------------------------------------------------------------------------


def planned(link_expires_at: datetime | None) -> PlannedMail:
    return PlannedMail("activation", "de", "max@example.de", {}, link_expires_at=link_expires_at)


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_at", "expired"),
    [
        (NOW + timedelta(seconds=1), False),
        (NOW, True),
        (NOW - timedelta(hours=1), True),
        (None, False),  # notices without a link never expire
    ],
)
def test_a_link_that_no_longer_works_is_not_mailed(
    expires_at: datetime | None, expired: bool
) -> None:
    assert link_expired(planned(expires_at), NOW) is expired


@pytest.mark.parametrize(
    ("claimed", "expired", "result"),
    [
        (True, False, MailResult.SENT),
        (True, True, MailResult.EXPIRED),
        # A redelivery of a mail that went out in time: a duplicate, even if its link
        # has expired since.
        (False, True, MailResult.DUPLICATE),
        (False, False, MailResult.DUPLICATE),
    ],
)
def test_only_a_claimed_mail_whose_link_still_works_goes_out(
    claimed: bool, expired: bool, result: MailResult
) -> None:
    assert before_sending(claimed, expired) is result


# --- topology and dead letters -----------------------------------------------------


def test_every_retry_delay_gets_a_queue_named_after_it() -> None:
    settings = MailerSettings(
        mailer_queue="mailer.events", mailer_retry_delays_seconds=(0.25, 5, 5, 60)  # type: ignore[arg-type]
    )

    assert retry_queue_name("mailer.events", 0.25) == "mailer.events.retry.250ms"
    assert owned_queue_names(settings) == [
        "mailer.events", "mailer.dead-letters",
        "mailer.events.retry.250ms", "mailer.events.retry.5000ms", "mailer.events.retry.60000ms",
    ]


def stored(body: bytes, headers: dict, message_id: str | None = "m-1", **more: object) -> Any:
    """The parts of a message from the dead-letter queue that `describe` reads."""
    return SimpleNamespace(
        body=body, headers=headers, message_id=message_id, timestamp=more.get("timestamp"),
        exchange=more.get("exchange", ""), routing_key=more.get("routing_key", ""),
    )


TOKEN_BODY = json.dumps({
    "event_id": "3f2b8a5e-0000-4000-8000-000000000001", "event_type": "registration-created",
    "payload": {"email": "max@example.de", "activation_token": "SECRET-TOKEN"},
}).encode()


def test_a_dead_letter_written_by_the_mailer_is_described_by_its_headers() -> None:
    when = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    letter = describe(stored(
        TOKEN_BODY, {"x-death-reason": "smtp_permanent", "x-death-detail": "recipient refused 550"},
        timestamp=when,
    ))

    assert letter == DeadLetter("m-1", "registration-created", "smtp_permanent",
                                "recipient refused 550", when)


def test_a_dead_letter_written_by_the_broker_is_described_by_x_death() -> None:
    when = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    death = {"reason": "delivery_limit", "time": when, "exchange": "portal.events",
             "routing-keys": ["auth.registration-created"], "queue": "mailer.events"}
    message = stored(TOKEN_BODY, {"x-death": [death]}, message_id=None,
                     exchange="portal.dead-letters", routing_key="mailer.events")

    letter = describe(message)

    assert (letter.id, letter.reason, letter.dead_lettered_at) == (
        "3f2b8a5e-0000-4000-8000-000000000001", "delivery_limit", when
    )
    assert original_route(message) == {
        "x-original-exchange": "portal.events",
        "x-original-routing-key": "auth.registration-created",
    }


def test_a_body_that_is_not_json_is_still_listed() -> None:
    letter = describe(stored(b"\xff not json", {"x-death-reason": "malformed"}, message_id=None))

    assert (letter.id, letter.event_type, letter.reason) == ("-", "-", "malformed")


def test_the_listing_shows_no_token_address_or_body() -> None:
    letters = [describe(stored(TOKEN_BODY, {"x-death-reason": "retries_exhausted",
                                            "x-death-detail": "SMTPDataError 451"}))]

    table = format_table(letters)

    assert table.splitlines()[0].split() == ["ID", "EVENT", "TYPE", "REASON", "DEAD-LETTERED",
                                             "AT", "DETAIL"]
    assert "m-1" in table and "retries_exhausted" in table and "SMTPDataError 451" in table
    assert "SECRET-TOKEN" not in table
    assert "max@example.de" not in table


def test_a_private_ca_file_is_used_to_verify_the_smtp_server(tmp_path: Path) -> None:
    ca = tmp_path / "relay-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")

    assert client_options(MailerSettings(smtp_ca_file=ca))["cert_bundle"] == str(ca)  # type: ignore[arg-type]
    assert client_options(MailerSettings())["cert_bundle"] is None


def test_a_missing_ca_file_stops_the_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMTP_CA_FILE", str(tmp_path / "missing.pem"))

    with pytest.raises(ConfigurationError, match="SMTP_CA_FILE"):
        get_settings()
