"""The mailer's small decisions: settings it accepts, SMTP errors it retries or gives up on."""

from __future__ import annotations

import aiosmtplib
import pytest

from portal_mailer.config import MailerSettings, get_settings
from portal_mailer.smtp import PermanentSmtpError, TransientSmtpError, classify, client_options
from portal_shared import topology
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
        # About the server or our account, not this mail: retry once it is fixed.
        aiosmtplib.SMTPAuthenticationError(535, "authentication failed"),
        aiosmtplib.SMTPHeloError(501, "bad HELO"),
        aiosmtplib.SMTPServerDisconnected("connection lost"),
        aiosmtplib.SMTPReadTimeoutError("timed out"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
    ids=[
        "recipient-451", "data-451", "421", "auth-535", "helo", "disconnect", "timeout", "refused"
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

    assert options["username"] == "mailer"
    assert options["password"] == "geheim"
    assert options["timeout"] == 7
    assert client_options(MailerSettings())["password"] is None
