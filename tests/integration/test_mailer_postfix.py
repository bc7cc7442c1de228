"""The mailer against a real Postfix (STARTTLS and implicit TLS, SASL login, a Maildir).

A misconfiguration must not burn mail: a refused login, a certificate we do not trust
or an EHLO name the server refuses pauses delivery — nothing dead-lettered, no retry
spent, the messages wait in the queue — with the reason and a hint in /readyz and the
metrics, and delivery resumes by itself once the server accepts us. One login mechanism
per try, so the provider counts one failed login, not two.

Postfix comes from Debian (`.ci/run` installs it); see `postfix_server` for the instance.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from portal_mailer.config import MailerSettings
from tests.conftest import AmqpNames
from tests.integration import postfix_server
from tests.integration.postfix_server import PostfixServer, Tls, make_ca_and_certificate
from tests.integration.test_mailer import (
    MAIL_TIMEOUT,
    PORTAL,
    SUPPORT,
    Broker,
    broker_for,
    contact_request,
    gauge,
    mailer_settings_for,
    metric,
    registration,
    reset_request,
    running_consumer,
    running_mailer,
)
from tests.support import eventually

pytestmark = pytest.mark.integration

USER, PASSWORD = "mailer", "geheim"


@pytest.fixture(scope="module", autouse=True)
def _postfix_installed() -> None:
    """Skipped where Postfix is missing; in CI, which installs it, that is a failure."""
    reason = postfix_server.missing_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def certificates() -> Iterator[tuple[Tls, Tls]]:
    """(the CA the mailer trusts with its certificate, another CA with its certificate)."""
    folder = Path(tempfile.mkdtemp(prefix="portal-postfix-tls-"))
    try:
        yield make_ca_and_certificate(folder / "good", "trusted"), make_ca_and_certificate(
            folder / "other", "unknown"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postfix_instance(certificates: tuple[Tls, Tls]) -> Iterator[PostfixServer]:
    """One Postfix for the module: starting one takes seconds."""
    trusted, _ = certificates
    root = Path(tempfile.mkdtemp(prefix="portal-postfix-"))
    server = PostfixServer(root, trusted, USER, PASSWORD)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postfix(postfix_instance: PostfixServer) -> PostfixServer:
    """The module's Postfix as started: right password and certificate, empty Maildir."""
    postfix_instance.reset()
    return postfix_instance


def settings_for(
    database_url: str, amqp_names: AmqpNames, postfix: PostfixServer, security: str,
    **overrides: object,
) -> MailerSettings:
    port = postfix.starttls_port if security == "starttls" else postfix.tls_port
    fields: dict[str, object] = {
        "smtp_security": security, "smtp_username": USER, "smtp_password": PASSWORD,
        "mail_from": "Kundenportal <no-reply@kundenportal.example>",
    }
    fields.update(overrides)
    return mailer_settings_for(database_url, amqp_names, "127.0.0.1", port, **fields)


async def delivered(postfix: PostfixServer, count: int) -> list[Message]:
    async def enough() -> list[Message] | None:
        mails = postfix.mails()
        return mails if len(mails) >= count else None

    return await eventually(enough, timeout=MAIL_TIMEOUT)


async def paused_for(client: TestClient, reason: str) -> dict:
    """/readyz once it reports the pause: 503, the smtp check named, reason and hint."""

    async def reported() -> dict | None:
        response = await client.get("/readyz")
        body = await response.json()
        problem = body.get("problems", {}).get("smtp", {})
        return body if response.status == 503 and problem.get("reason") == reason else None

    return await eventually(reported, timeout=MAIL_TIMEOUT)


async def nothing_taken(broker: Broker, names: AmqpNames, waiting: int) -> None:
    """Every message waits in the mailer queue, which has no consumer while paused."""

    async def parked() -> bool:
        return await broker.queue_state(names.mailer_queue) == (waiting, 0)

    await eventually(parked, timeout=MAIL_TIMEOUT)


def failed_logins(postfix: PostfixServer) -> list[str]:
    return re.findall(r"SASL (\S+) authentication failed", postfix.log_text())


def auth_attempts_per_session(postfix: PostfixServer) -> list[str]:
    """Postfix's `auth=ok/tried` of every session that tried to log in."""
    return re.findall(r"disconnect from .* auth=(\d+/\d+)", postfix.log_text())


async def no_dead_letters_and_no_retries(client: TestClient, broker: Broker,
                                         names: AmqpNames) -> None:
    assert await broker.queue_state(names.mailer_dead_letter_queue) == (0, 0)
    for template in ("activation", "password-reset", "contact-support", "contact-confirmation"):
        assert await metric(client, "mailer_mails_retried_total", template=template) == 0


# --- mails arrive ----------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_activation_reset_and_contact_mails_arrive_in_the_maildir(
    database_url: str, amqp_names: AmqpNames, postfix: PostfixServer, security: str
) -> None:
    settings = settings_for(database_url, amqp_names, postfix, security,
                            smtp_ca_file=postfix.tls_ca)
    activation = registration("anna@example.de")
    async with running_mailer(settings), broker_for(amqp_names) as broker:
        await broker.publish_event(activation)
        await broker.publish_event(reset_request("bernd@example.de", locale="en"))
        await broker.publish_event(contact_request("clara@example.de"))

        mails = await delivered(postfix, 4)

    by_recipient = {str(mail["X-Original-To"]): mail for mail in mails}
    assert set(by_recipient) == {"anna@example.de", "bernd@example.de", SUPPORT,
                                 "clara@example.de"}
    token = activation.payload.activation_token  # type: ignore[attr-defined]
    assert f"{PORTAL}/aktivieren?token={token}" in _body(by_recipient["anna@example.de"])
    for mail in mails:
        # Clean headers after a real MTA: one of each, the envelope sender ours.
        for header in ("From", "To", "Subject", "Date", "Message-ID"):
            assert len(mail.get_all(header, [])) == 1, header
        assert mail["Return-Path"] == "<no-reply@kundenportal.example>"
        assert mail["Message-ID"].endswith("@kundenportal.example>")
    log = postfix.log_text()
    # One mechanism per login (PLAIN, first of the preference Postfix offers), never a
    # failed one; the default EHLO name passed the strict relay's FQDN check.
    assert "authentication failed" not in log
    assert set(re.findall(r"sasl_method=(\w+)", log)) == {"PLAIN"}
    assert "need fully-qualified hostname" not in log


def _body(mail: Message) -> str:
    parts = [mail] if not mail.is_multipart() else list(mail.walk())
    return "".join(
        part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8", "replace")
        for part in parts
        if part.get_content_type() == "text/plain"
    )


# --- a wrong password, then fixed ------------------------------------------------------


async def test_a_refused_login_pauses_delivery_until_the_password_is_fixed(
    database_url: str, amqp_names: AmqpNames, postfix: PostfixServer
) -> None:
    postfix.set_password("neues-passwort")  # changed at the provider, not in our settings
    settings = settings_for(database_url, amqp_names, postfix, "starttls",
                            smtp_ca_file=postfix.tls_ca)
    async with running_consumer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(registration("dora@example.de"))
        await broker.publish_event(reset_request("emil@example.de"))
        await broker.publish_event(contact_request("frieda@example.de"))

        body = await paused_for(mailer, "authentication_failed")
        assert body["checks"]["smtp"] == "unavailable"
        assert "SMTP_PASSWORD" in body["problems"]["smtp"]["hint"]
        assert await metric(mailer, "mailer_delivery_paused", reason="authentication_failed") == 1
        # Nothing consumed meanwhile: all three wait in the queue, in their order.
        await nothing_taken(broker, amqp_names, 3)
        assert postfix.mails() == []
        # Each try logged in once, with one mechanism: one failed login per session.
        assert failed_logins(postfix)
        assert set(auth_attempts_per_session(postfix)) == {"0/1"}

        postfix.set_password(PASSWORD)  # fixed at the provider: no restart of ours

        mails = await delivered(postfix, 4)
        await eventually(lambda: _ready(mailer), timeout=MAIL_TIMEOUT)
        assert await metric(mailer, "mailer_delivery_paused", reason="authentication_failed") == 0
        assert await metric(
            mailer, "mailer_delivery_pauses_total", reason="authentication_failed"
        ) == 1
        await no_dead_letters_and_no_retries(mailer, broker, amqp_names)

    assert sorted(str(m["X-Original-To"]) for m in mails) == sorted(
        ["dora@example.de", "emil@example.de", SUPPORT, "frieda@example.de"]
    )


async def _ready(client: TestClient) -> bool:
    return (await client.get("/readyz")).status == 200


# --- a certificate we do not trust, then fixed --------------------------------------


async def test_an_untrusted_certificate_pauses_delivery_until_it_is_trusted(
    database_url: str, amqp_names: AmqpNames, postfix: PostfixServer,
    certificates: tuple[Tls, Tls],
) -> None:
    trusted, unknown = certificates
    event = registration("gustav@example.de")
    # Without SMTP_CA_FILE the system CAs do not know the server's (private) CA.
    without_ca = settings_for(database_url, amqp_names, postfix, "tls")
    async with running_consumer(without_ca) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(event)

        body = await paused_for(mailer, "certificate_untrusted")
        assert "SMTP_CA_FILE" in body["problems"]["smtp"]["hint"]
        await nothing_taken(broker, amqp_names, 1)

    # The operator follows the hint and restarts with SMTP_CA_FILE, while the relay now
    # presents a certificate from a CA nobody told us about (a botched renewal).
    postfix.use_certificate_from(unknown)
    with_ca = settings_for(database_url, amqp_names, postfix, "tls", smtp_ca_file=trusted.ca)
    async with running_consumer(with_ca) as mailer, broker_for(amqp_names) as broker:
        await paused_for(mailer, "certificate_untrusted")
        await nothing_taken(broker, amqp_names, 1)

        postfix.use_certificate_from(trusted)  # renewal fixed: we resume by ourselves

        [mail] = await delivered(postfix, 1)
        await eventually(lambda: _ready(mailer), timeout=MAIL_TIMEOUT)
        await no_dead_letters_and_no_retries(mailer, broker, amqp_names)
    assert mail["X-Original-To"] == "gustav@example.de"


# --- an EHLO name the relay refuses --------------------------------------------------


async def test_an_ehlo_name_the_relay_refuses_pauses_instead_of_dead_lettering(
    database_url: str, amqp_names: AmqpNames, postfix: PostfixServer
) -> None:
    # What aiosmtplib sent before SMTP_EHLO_NAME: getfqdn(), "localhost" on many hosts.
    event = registration("heinz@example.de")
    localhost = settings_for(database_url, amqp_names, postfix, "starttls",
                             smtp_ca_file=postfix.tls_ca, smtp_ehlo_name="localhost")
    async with running_consumer(localhost) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(event)

        body = await paused_for(mailer, "ehlo_refused")
        assert "SMTP_EHLO_NAME" in body["problems"]["smtp"]["hint"]
        await nothing_taken(broker, amqp_names, 1)
        assert "need fully-qualified hostname" in postfix.log_text()

    # Restarted with the default name (the host's FQDN, else the MAIL_FROM domain).
    default = settings_for(database_url, amqp_names, postfix, "starttls",
                           smtp_ca_file=postfix.tls_ca)
    async with running_mailer(default) as mailer, broker_for(amqp_names) as broker:
        [mail] = await delivered(postfix, 1)
        await no_dead_letters_and_no_retries(mailer, broker, amqp_names)
        assert await gauge(mailer, "mailer_messages_in_flight") == 0
    assert mail["X-Original-To"] == "heinz@example.de"
