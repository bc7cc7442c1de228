"""Mails that cannot be built, and mails the server refuses, cost one delivery each and
hold nothing up: dead-lettered at once with the reason, the SMTP connection left ready
for the next mail. Internationalised domains are mailed in punycode; what a sender typed
cannot become a header, and the receipt repeats none of it (raw mails read from the sink).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import threading
from email.message import EmailMessage
from uuid import uuid4

import pytest

from portal_devtools.mailsink import Fault, MailSink
from portal_mailer.smtp import PermanentSmtpError, SmtpPool
from portal_shared.events import ContactRequested, encode, new_event
from tests.conftest import AmqpNames
from tests.integration.test_mailer import (
    MAIL_TIMEOUT,
    SUPPORT,
    broker_for,
    contact_request,
    metric,
    metric_reaches,
    registration,
    running_mailer,
)
from tests.integration.test_mailer import mailer_settings_for as settings_for
from tests.integration.test_mailer_smtp import ScriptedSmtpServer, smtp_server
from tests.support import eventually

pytestmark = pytest.mark.integration

__all__ = ["smtp_server"]  # fixture

SENDER = "no-reply@kundenportal.example"
ENCODED_WORD_ATTACK = "=?utf-8?q?Chef=0D=0ABcc=3A_boss=40evil.example?="
PHISHING = "Ihr Konto wird gesperrt! Jetzt bestätigen: https://evil.example/login"


def raw(mail_content: bytes) -> EmailMessage:
    return email.message_from_bytes(mail_content, policy=email.policy.default)  # type: ignore[return-value]


def contact_from(name: str, address: str = "writer@example.de", subject: str = "Rechnung"):  # type: ignore[no-untyped-def]
    payload = ContactRequested(
        contact_id=uuid4(), name=name, email=address, customer_number=None,
        subject=subject, message="Bitte melden Sie sich.", locale="de",
    )
    return new_event(payload, correlation_id="test")


async def test_an_address_without_an_ascii_form_is_dead_lettered_at_once_and_delays_nothing(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="portal_mailer")
    # One worker slot: a message that kept it busy would hold up everything behind it.
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port,
                            mailer_concurrency=1)
    registered, contacted = registration("jörg@example.de"), contact_request("jörg@example.de")
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(registered)
        await broker.publish_event(contacted)
        await broker.publish_event(registration("after@example.de"))

        await smtp_sink.wait_for_mail_to("after@example.de", timeout=MAIL_TIMEOUT)
        dead = await broker.dead_letters(2)

        by_body = {message.body: message for message in dead}
        assert set(by_body) == {encode(registered), encode(contacted)}
        for message in dead:
            assert message.headers["x-death-reason"] == "unsendable_address"
            assert message.headers["x-death-detail"] == "render: recipient: not ASCII before the @"
            assert message.headers["x-mailer-attempts"] == 1
            assert "jörg" not in str(message.headers)
        assert by_body[encode(contacted)].headers["x-mailer-template"] == "contact-confirmation"
        # Support still got the request, without a Reply-To no mail program could use.
        [to_support] = smtp_sink.to(SUPPORT)
        assert raw(to_support.content)["Reply-To"] is None
        assert "jörg@example.de" in to_support.text
        await metric_reaches(mailer, "mailer_mails_dead_lettered_total", 1,
                             template="activation", reason="unsendable_address")
        assert await metric(mailer, "mailer_mails_retried_total", template="activation") == 0
    # Each was handled once: no redelivery, no traceback for a customer's address.
    assert not [r for r in caplog.records if "not settled" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info]


async def test_an_internationalised_domain_is_mailed_in_punycode(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings), broker_for(amqp_names) as broker:
        await broker.publish_event(registration("Max@müller.de"))
        await broker.publish_event(contact_from("Erika", "erika@straße.de"))

        mail = await smtp_sink.wait_for_mail_to("Max@xn--mller-kva.de", timeout=MAIL_TIMEOUT)
        to_support = await smtp_sink.wait_for_mail_to(SUPPORT, timeout=MAIL_TIMEOUT)
        receipt = await smtp_sink.wait_for_mail_to("erika@xn--strae-oqa.de", timeout=MAIL_TIMEOUT)

    assert mail.recipients == ("Max@xn--mller-kva.de",)
    assert raw(mail.content)["To"] == "Max@xn--mller-kva.de"
    assert mail.content.isascii()
    [reply_to] = raw(to_support.content)["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == ("Erika", "erika@xn--strae-oqa.de")
    assert receipt.recipients == ("erika@xn--strae-oqa.de",)


async def test_an_encoded_word_in_the_name_reaches_support_as_typed_and_adds_no_header(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    # The FAQ API refuses such names (test_faq_contact_safety); an event that carries one
    # anyway (older, or from elsewhere) must still not turn it into headers.
    event = contact_from(ENCODED_WORD_ATTACK, subject=f"Frage {ENCODED_WORD_ATTACK}")
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings), broker_for(amqp_names) as broker:
        await broker.publish_event(event)
        to_support = await smtp_sink.wait_for_mail_to(SUPPORT, timeout=MAIL_TIMEOUT)
        await smtp_sink.wait_for_mail_to("writer@example.de", timeout=MAIL_TIMEOUT)

    assert to_support.recipients == (SUPPORT,)
    headers = to_support.content.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?q?Chef" not in headers
    assert b"\nBcc:" not in headers and b"evil.example" not in headers
    message = raw(to_support.content)
    [reply_to] = message["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == (ENCODED_WORD_ATTACK, "writer@example.de")
    assert message["Subject"] == f"Kontaktanfrage: Frage {ENCODED_WORD_ATTACK}"
    assert message["Bcc"] is None
    assert all(len(smtp_sink.to(r)) == 0 for r in ("boss@evil.example",))


async def test_the_receipt_carries_nothing_the_sender_typed(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    event = contact_from(PHISHING, "victim@example.de", subject="Zahlung https://evil.example/pay")
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings), broker_for(amqp_names) as broker:
        await broker.publish_event(event)
        receipt = await smtp_sink.wait_for_mail_to("victim@example.de", timeout=MAIL_TIMEOUT)

    message = raw(receipt.content)
    everything = str(message["Subject"]) + receipt.text + receipt.html
    for typed in ("gesperrt", "evil.example", "Zahlung"):
        assert typed not in everything
        assert typed.encode() not in receipt.content
    assert receipt.links == []
    assert event.payload.contact_id.hex[:8].upper() in receipt.text  # type: ignore[attr-defined]


# --- the SMTP connection after a failed mail -------------------------------------------


async def test_a_mail_that_fails_between_mail_from_and_data_leaves_the_connection_usable(
    smtp_sink: MailSink, database_url: str, amqp_names: AmqpNames
) -> None:
    # aiosmtplib fails on a non-ASCII recipient after MAIL FROM was accepted, and does
    # not reset; the next mail on that session got "503 nested MAIL command" (permanent).
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    pool = SmtpPool(settings, size=1)
    try:
        with pytest.raises(PermanentSmtpError):
            await pool.send(SENDER, ["jörg@example.de"], b"Subject: a\r\n\r\nA\r\n")
        await pool.send(SENDER, ["next@example.de"], b"Subject: b\r\n\r\nB\r\n")
    finally:
        await pool.close()

    assert [m.recipients for m in smtp_sink.mails] == [("next@example.de",)]


async def test_after_a_refused_mail_the_same_connection_sends_the_next(
    smtp_sink: MailSink, database_url: str, amqp_names: AmqpNames
) -> None:
    smtp_sink.inject(Fault(reply="550 5.1.1 No such user", at="rcpt", recipient="gone@example.de"))
    smtp_sink.inject(Fault(reply="554 5.7.1 Rejected", recipient="spam@example.de"))
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    pool = SmtpPool(settings, size=1)
    try:
        for refused in ("gone@example.de", "spam@example.de"):
            with pytest.raises(PermanentSmtpError):
                await pool.send(SENDER, [refused], b"Subject: x\r\n\r\nX\r\n")
            await pool.send(SENDER, [f"after-{refused}"], b"Subject: y\r\n\r\nY\r\n")
    finally:
        await pool.close()

    assert [m.recipients for m in smtp_sink.mails] == [
        ("after-gone@example.de",), ("after-spam@example.de",)
    ]


async def test_a_send_cut_short_does_not_hand_its_session_to_the_next_mail(
    smtp_server: ScriptedSmtpServer, database_url: str, amqp_names: AmqpNames
) -> None:
    smtp_server.data_gate = threading.Event()
    settings = settings_for(database_url, amqp_names, smtp_server.host, smtp_server.port)
    pool = SmtpPool(settings, size=1)
    try:
        stuck = asyncio.create_task(pool.send(SENDER, ["slow@example.de"], b"Subject: s\r\n\r\nS\r\n"))
        await eventually(lambda: _is_set(smtp_server.data_entered))
        stuck.cancel()  # as the shutdown drain does with mails that take too long
        with pytest.raises(asyncio.CancelledError):
            await stuck
        smtp_server.data_gate.set()

        await pool.send(SENDER, ["next@example.de"], b"Subject: n\r\n\r\nN\r\n")
    finally:
        await pool.close()

    assert smtp_server.delivered_to("next@example.de")


async def _is_set(flag: threading.Event) -> bool:
    return flag.is_set()
