"""The mailer's rules for an SMTP server that refuses its setup: which failures pause
delivery (with which reason and hint), the one login mechanism per session, the EHLO
name, the pause's probe schedule and its resume (with a fake probe; the real server is
in tests/integration/test_mailer_postfix.py)."""

from __future__ import annotations

import asyncio
import itertools
import ssl

import aiosmtplib
import pytest

from portal_mailer.config import MailerSettings, default_ehlo_name, fully_qualified
from portal_mailer.domain.outcomes import Hold
from portal_mailer.domain.retry import RetryPolicy, after_failure
from portal_mailer.metrics import MailerMetrics
from portal_mailer.pause import DeliveryPause, Problem, probe_delays
from portal_mailer.smtp import client_options
from portal_mailer.smtp_errors import (
    AUTHENTICATION_FAILED,
    AUTHENTICATION_REQUIRED,
    CERTIFICATE_UNTRUSTED,
    EHLO_REFUSED,
    PermanentSmtpError,
    SmtpSetupError,
    TransientSmtpError,
    choose_mechanism,
    classify,
    classify_session,
)
from tests.support import eventually


def _untrusted_handshake() -> aiosmtplib.SMTPConnectError:
    """As aiosmtplib raises a failed implicit-TLS handshake: wrapped, with the cause."""
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cause.verify_message = "self-signed certificate in certificate chain"
    try:
        raise aiosmtplib.SMTPConnectError("Error connecting to 127.0.0.1") from cause
    except aiosmtplib.SMTPConnectError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("error", "reason", "setting"),
    [
        (aiosmtplib.SMTPAuthenticationError(535, "5.7.8 credentials invalid"),
         AUTHENTICATION_FAILED, "SMTP_PASSWORD"),
        (aiosmtplib.SMTPAuthenticationError(534, "mechanism too weak"),
         AUTHENTICATION_FAILED, "SMTP_PASSWORD"),
        (_untrusted_handshake(), CERTIFICATE_UNTRUSTED, "SMTP_CA_FILE"),
        (aiosmtplib.SMTPHeloError(504, "5.5.2 need fully-qualified hostname"),
         EHLO_REFUSED, "SMTP_EHLO_NAME"),
    ],
    ids=["535", "534", "certificate", "helo-504"],
)
def test_a_refused_setup_pauses_with_a_hint_naming_the_setting(
    error: Exception, reason: str, setting: str
) -> None:
    sorted_error = classify_session(error)

    assert isinstance(sorted_error, SmtpSetupError)
    assert sorted_error.reason == reason
    assert setting in sorted_error.hint


def test_a_certificate_failure_says_why_openssl_refused_it() -> None:
    assert classify_session(_untrusted_handshake()).detail == (
        "connect: certificate not trusted (self-signed certificate in certificate chain)"
    )


@pytest.mark.parametrize(
    "error",
    [
        aiosmtplib.SMTPAuthenticationError(454, "4.7.0 temporary authentication failure"),
        aiosmtplib.SMTPConnectError("Error connecting: connection refused"),
        ssl.SSLError(1, "unexpected eof"),  # a handshake cut short, not a verification
        aiosmtplib.SMTPServerDisconnected("lost"),
    ],
    ids=["auth-454", "refused", "eof", "disconnect"],
)
def test_a_server_in_trouble_is_transient_not_a_pause(error: Exception) -> None:
    assert isinstance(classify_session(error), TransientSmtpError)


def test_a_helo_refusal_at_rcpt_is_a_setup_error_not_a_bad_recipient() -> None:
    # Postfix's reject_non_fqdn_helo_hostname, answered at RCPT (smtpd_delay_reject).
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(
        504, "5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname",
        "max@example.de",
    )])
    bad_address = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(
        504, "5.5.2 <max@example>: Recipient address rejected: need fully-qualified address",
        "max@example",
    )])

    assert isinstance(classify(refused), SmtpSetupError)
    assert classify(refused).reason == EHLO_REFUSED  # type: ignore[attr-defined]
    assert not isinstance(classify(bad_address), SmtpSetupError)


def test_a_recipient_named_like_a_helo_refusal_does_not_pause_delivery() -> None:
    # The address is the customer's; only the server's own words may pause everyone's mail.
    crafted = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(
        504, "5.5.2 <helo.command.rejected@example>: Recipient address rejected: need fully-qualified address",
        "helo.command.rejected@example",
    )])

    assert isinstance(classify(crafted), PermanentSmtpError)


def test_a_server_that_wants_a_login_we_do_not_give_pauses() -> None:
    error = classify(aiosmtplib.SMTPSenderRefused(530, "5.7.0 Authentication required", "a@b.de"))

    assert isinstance(error, SmtpSetupError)
    assert error.reason == AUTHENTICATION_REQUIRED
    assert "SMTP_USERNAME" in error.hint


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["scram-sha-256", "cram-md5", "plain", "login"], "plain"),
        (["LOGIN", "PLAIN"], "plain"),
        (["login"], "login"),
        (["cram-md5", "digest-md5"], "cram-md5"),
        (["xoauth2", "gssapi"], None),
        ([], None),
    ],
)
def test_one_mechanism_is_chosen_from_what_the_server_offers(
    offered: list[str], chosen: str | None
) -> None:
    assert choose_mechanism(offered) == chosen


@pytest.mark.parametrize(
    ("host", "mail_from", "ehlo"),
    [
        ("mailer-7d9c.portal.svc.cluster.local", "no-reply@kundenportal.de",
         "mailer-7d9c.portal.svc.cluster.local"),
        ("Mail.Firma.DE", "no-reply@kundenportal.de", "mail.firma.de"),
        # getfqdn() in a container or on a laptop without a name in DNS:
        ("localhost", "Kundenportal <no-reply@Kundenportal.de>", "kundenportal.de"),
        ("mailer-7d9c", "no-reply@kundenportal.de", "kundenportal.de"),
        ("localhost.localdomain", "no-reply@kundenportal.de", "kundenportal.de"),
    ],
)
def test_the_ehlo_name_is_the_host_fqdn_or_else_the_sender_domain(
    host: str, mail_from: str, ehlo: str
) -> None:
    assert default_ehlo_name(host, mail_from) == ehlo
    assert fully_qualified(ehlo)


def test_smtp_ehlo_name_is_passed_on_and_defaults_to_a_qualified_name() -> None:
    assert client_options(MailerSettings(smtp_ehlo_name="mx1.kundenportal.de"))[
        "local_hostname"
    ] == "mx1.kundenportal.de"
    assert fully_qualified(MailerSettings().smtp_ehlo_name)


def test_a_blank_or_spaced_ehlo_name_stops_the_start() -> None:
    with pytest.raises(ValueError, match="smtp_ehlo_name"):
        MailerSettings(smtp_ehlo_name="mail server")


def test_probes_start_soon_and_settle_at_one_a_minute() -> None:
    delays = list(itertools.islice(probe_delays(), 9))

    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


async def test_the_pause_holds_until_a_probe_is_accepted_and_counts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("portal_mailer.pause.FIRST_PROBE_SECONDS", 0.01)
    refusal = SmtpSetupError("connect: SMTPAuthenticationError 535", AUTHENTICATION_FAILED)
    answers: list[Exception | None] = [
        refusal, TransientSmtpError("connect: SMTPConnectError"), None
    ]
    probes = 0
    resumed: list[bool] = []

    async def probe() -> None:
        nonlocal probes
        probes += 1
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    metrics = MailerMetrics()
    pause = DeliveryPause(probe, metrics, on_resume=lambda: resumed.append(True))
    pause.hold(Problem.of(refusal))
    pause.hold(Problem.of(refusal))  # a second mail failing the same way: still one pause

    assert pause.paused and pause.held.is_set() and not pause.resumed.is_set()
    assert _sample(metrics, "mailer_delivery_paused", AUTHENTICATION_FAILED) == 1
    await eventually(lambda: _resumed(pause), timeout=5)
    # An unreachable server kept the pause: only an accepted probe ends it.
    assert probes == 3
    assert resumed == [True]
    assert _sample(metrics, "mailer_delivery_paused", AUTHENTICATION_FAILED) == 0
    assert _sample(metrics, "mailer_delivery_pauses_total", AUTHENTICATION_FAILED) == 1
    await pause.close()


async def _resumed(pause: DeliveryPause) -> bool:
    await asyncio.sleep(0)
    return not pause.paused and pause.resumed.is_set()


def _sample(metrics: MailerMetrics, name: str, reason: str) -> float:
    value = metrics.registry.get_sample_value(name, {"reason": reason})
    assert value is not None, f"{name} not exported"
    return value


@pytest.mark.parametrize("attempt", [1, 3, 99])
def test_a_refused_setup_holds_whatever_the_attempt_and_spends_none(attempt: int) -> None:
    policy = RetryPolicy(delays=(0.5, 2.0), max_attempts=3)
    refusal = SmtpSetupError("connect: SMTPAuthenticationError 535", AUTHENTICATION_FAILED)

    decision = after_failure(refusal, attempt, policy)

    assert decision == Hold(AUTHENTICATION_FAILED, refusal.hint)
