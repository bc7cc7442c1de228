"""The mailer against real RabbitMQ, PostgreSQL and SMTP: events in, mails and dead letters out.

The helpers here are shared by the other `test_mailer_*.py` modules. Failure handling
(retries, dead letters, the CLI) and several replicas have modules of their own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage
from aio_pika.exceptions import ChannelPreconditionFailed
from aiohttp import web
from aiohttp.test_utils import TestClient

from portal_devtools.mailsink import MailSink
from portal_mailer.app import create_app
from portal_mailer.config import MailerSettings
from portal_mailer.keys import CONSUMER
from portal_mailer.topology import DELIVERY_LIMIT, SAFE_DEAD_LETTERING, retry_queue_name
from portal_shared.amqp import declare_events_exchange
from portal_shared.events import (
    AccountExists,
    ContactRequested,
    Envelope,
    Event,
    Locale,
    PasswordChanged,
    RegistrationCreated,
    ResetRequested,
    encode,
    new_event,
)
from portal_shared.topology import RoutingKey
from tests.conftest import TEST_RETRY_DELAYS, AmqpNames
from tests.support import TcpProxy, eventually, running

pytestmark = pytest.mark.integration

PORTAL = "http://portal.test"
SUPPORT = "support@portal.test"
MAIL_TIMEOUT = 15.0
# Short pauses so retries finish within a test; tests that need others pass their own.
TEST_MAX_ATTEMPTS = 3


# --- helpers, also used by test_mailer_*.py ----------------------------------------


def mailer_settings_for(
    database_url: str, amqp_names: AmqpNames, smtp_host: str, smtp_port: int, **overrides: object
) -> MailerSettings:
    fields: dict = {
        "mailer_database_url": database_url,
        "amqp_url": amqp_names.url,
        "events_exchange": amqp_names.exchange,
        "dead_letter_exchange": amqp_names.dead_letter_exchange,
        "mailer_queue": amqp_names.mailer_queue,
        "mailer_dead_letter_queue": amqp_names.mailer_dead_letter_queue,
        "smtp_host": smtp_host,
        "smtp_port": smtp_port,
        "portal_base_url": PORTAL,
        "support_email": SUPPORT,
        "mailer_retry_delays_seconds": TEST_RETRY_DELAYS,
        "mailer_max_attempts": TEST_MAX_ATTEMPTS,
    }
    fields.update(overrides)
    return MailerSettings(**fields)


@asynccontextmanager
async def running_mailer(settings: MailerSettings) -> AsyncIterator[TestClient]:
    """The mailer app, once it consumes (its queue exists, so events are routed)."""
    async with running(create_app(settings)) as client:
        await eventually(lambda: readyz_status_is(client, 200), timeout=MAIL_TIMEOUT)
        yield client


@asynccontextmanager
async def running_consumer(settings: MailerSettings) -> AsyncIterator[TestClient]:
    """The mailer app once it consumes, whatever /readyz says (for an unready mailer)."""
    app = create_app(settings)
    async with running(app) as client:
        await eventually(lambda: consuming(app), timeout=MAIL_TIMEOUT)
        yield client


async def consuming(app: web.Application) -> bool:
    return CONSUMER in app and app[CONSUMER].consuming


async def readyz_status_is(client: TestClient, status: int) -> bool:
    return (await client.get("/readyz")).status == status


def registration(email: str = "max@example.de", locale: Locale = "de") -> Event:
    payload = RegistrationCreated(
        account_id=uuid4(), customer_number="10001", email=email, last_name="Mustermann",
        locale=locale, activation_token=f"act-{uuid4().hex}",
        expires_at=datetime.now(UTC) + timedelta(hours=24),
    )
    return new_event(payload, correlation_id="test")


def reset_request(
    email: str = "max@example.de", locale: Locale = "de", valid_for: timedelta = timedelta(hours=1)
) -> Event:
    payload = ResetRequested(
        account_id=uuid4(), email=email, last_name="Mustermann", locale=locale,
        reset_token=f"rst-{uuid4().hex}", expires_at=datetime.now(UTC) + valid_for,
    )
    return new_event(payload, correlation_id="test")


def account_exists(email: str = "max@example.de", locale: Locale = "de") -> Event:
    payload = AccountExists(account_id=uuid4(), email=email, last_name="Mustermann", locale=locale)
    return new_event(payload, correlation_id="test")


def password_changed(email: str = "max@example.de", locale: Locale = "de") -> Event:
    payload = PasswordChanged(
        account_id=uuid4(), email=email, last_name="Mustermann", locale=locale,
        changed_at=datetime.now(UTC), via="change",
    )
    return new_event(payload, correlation_id="test")


def contact_request(email: str = "max@example.de", locale: Locale = "de") -> Event:
    payload = ContactRequested(
        contact_id=uuid4(), name="Max Mustermann", email=email, customer_number="10001",
        subject="Rechnung", message="Guten Tag,\nwo finde ich meine Rechnung?", locale=locale,
    )
    return new_event(payload, correlation_id="test")


class Broker:
    """The test's side of RabbitMQ: publish like auth's relay, read the dead-letter queue."""

    def __init__(self, channel: AbstractChannel, exchange: AbstractExchange, names: AmqpNames):
        self._channel = channel
        self._exchange = exchange
        self._names = names
        self._dead_letters: list[AbstractIncomingMessage] = []

    async def publish(self, body: bytes, routing_key: str) -> None:
        message = aio_pika.Message(
            body, content_type="application/json", message_id=str(uuid4()),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        # Confirmed and mandatory: an unroutable message fails the test right here.
        await self._exchange.publish(message, routing_key, mandatory=True)

    async def publish_event(self, event: Event) -> None:
        await self.publish(encode(event), event.routing_key)

    async def dead_letters(
        self, count: int, timeout: float = MAIL_TIMEOUT
    ) -> list[AbstractIncomingMessage]:
        """Wait until `count` dead letters have arrived; returns all read so far."""
        queue = await self._channel.get_queue(self._names.mailer_dead_letter_queue)

        async def enough() -> bool:
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                self._dead_letters.append(message)
            return len(self._dead_letters) >= count

        await eventually(enough, timeout=timeout)
        return list(self._dead_letters)

    async def take(self, name: str) -> AbstractIncomingMessage:
        """Take one message off a queue, unacknowledged, as a consumer would."""
        queue = await self._channel.get_queue(name)
        return await eventually(lambda: queue.get(no_ack=False, fail=False), timeout=MAIL_TIMEOUT)

    async def queue_state(self, name: str) -> tuple[int, int]:
        """(ready messages, consumers) of a queue, as the broker reports them."""
        queue = await self._channel.declare_queue(name, passive=True)
        result = queue.declaration_result
        return result.message_count or 0, result.consumer_count or 0


@asynccontextmanager
async def broker_for(names: AmqpNames) -> AsyncIterator[Broker]:
    connection = await aio_pika.connect(names.url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await declare_events_exchange(channel, names.exchange)
        yield Broker(channel, exchange, names)


async def metric(client: TestClient, name: str, **labels: str) -> float:
    """One sample from /metrics; 0 when the series does not exist yet."""
    text = await (await client.get("/metrics")).text()
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    pattern = re.compile(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", re.MULTILINE)
    for found_labels, value in pattern.findall(text):
        if ",".join(sorted(found_labels.split(","))) == wanted:
            return float(value)
    return 0.0


async def gauge(client: TestClient, name: str) -> float:
    """An unlabelled sample from /metrics, such as a gauge."""
    text = await (await client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not exported")


async def metric_reaches(client: TestClient, name: str, value: float, **labels: str) -> None:
    """Wait for a counter: the mail reaches the sink before the mailer has counted it."""

    async def reached() -> bool:
        return await metric(client, name, **labels) == value

    await eventually(reached, timeout=MAIL_TIMEOUT)


async def processed_mails(database_url: str) -> set[tuple[str, str]]:
    """(event id, template) of every mail the mailer recorded as sent."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT event_id, template FROM mailer.processed_events")
    finally:
        await conn.close()
    return {(str(row["event_id"]), row["template"]) for row in rows}


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink) -> MailerSettings:
    return mailer_settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)


@pytest.fixture
async def mailer(settings: MailerSettings) -> AsyncIterator[TestClient]:
    async with running_mailer(settings) as client:
        yield client


@pytest.fixture
async def broker(amqp_names: AmqpNames) -> AsyncIterator[Broker]:
    async with broker_for(amqp_names) as broker:
        yield broker


# --- tests -------------------------------------------------------------------------


async def test_activation_mail_arrives_with_the_link(
    mailer: TestClient, broker: Broker, smtp_sink: MailSink, database_url: str
) -> None:
    event = registration("max@example.de", locale="de")
    await broker.publish_event(event)

    mail = await smtp_sink.wait_for_mail_to("max@example.de", timeout=MAIL_TIMEOUT)

    token = event.payload.activation_token  # type: ignore[attr-defined]
    assert mail.links == [f"{PORTAL}/aktivieren?token={token}"]
    assert f'href="{PORTAL}/aktivieren?token={token}"' in mail.html
    assert mail.subject == "Bitte aktivieren Sie Ihr Benutzerkonto im Kundenportal"
    assert mail.message["From"] == "Kundenportal <no-reply@kundenportal.example>"
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.recipients == ("max@example.de",)
    # Recorded once the SMTP server has accepted the mail, so only after it arrived.
    await metric_reaches(mailer, "mailer_mails_sent_total", 1, template="activation")
    assert await processed_mails(database_url) == {(str(event.event_id), "activation")}


async def test_reset_mail_arrives_in_english(
    mailer: TestClient, broker: Broker, smtp_sink: MailSink
) -> None:
    event = reset_request("jane@example.com", locale="en")
    await broker.publish_event(event)

    mail = await smtp_sink.wait_for_mail_to("jane@example.com", timeout=MAIL_TIMEOUT)

    token = event.payload.reset_token  # type: ignore[attr-defined]
    assert mail.links == [f"{PORTAL}/passwort-zuruecksetzen?token={token}"]
    assert mail.subject == "Set a new password for the customer portal"


async def test_every_event_type_becomes_its_mails_with_sender_reply_to_and_message_id(
    mailer: TestClient, broker: Broker, smtp_sink: MailSink
) -> None:
    exists, changed, contact = (
        account_exists("owner@example.de"), password_changed("changed@example.de", "en"),
        contact_request("writer@example.de"),
    )
    for event in (exists, changed, contact):
        await broker.publish_event(event)

    await smtp_sink.wait_for(lambda mails: len(mails) == 4, timeout=MAIL_TIMEOUT)

    [notice] = smtp_sink.to("owner@example.de")
    assert notice.subject == "Registrierungsversuch mit Ihren Daten im Kundenportal"
    assert notice.links == [f"{PORTAL}/"]
    assert notice.message["Reply-To"] == SUPPORT
    # The same for every send of this mail (folded onto its own line, as it is long).
    assert notice.message["Message-ID"].strip() == (
        f"<{exists.event_id}.account-exists@kundenportal.example>"
    )
    [changed_mail] = smtp_sink.to("changed@example.de")
    assert changed_mail.subject == "Your password for the customer portal was changed"
    assert changed_mail.message["Content-Language"] == "en"
    [to_support] = smtp_sink.to(SUPPORT)
    assert to_support.subject == "Kontaktanfrage: Rechnung"
    assert to_support.message["Reply-To"] == "Max Mustermann <writer@example.de>"
    assert "wo finde ich meine Rechnung?" in to_support.text
    [receipt] = smtp_sink.to("writer@example.de")
    assert receipt.subject == "Ihre Nachricht an den Kundenservice ist eingegangen"
    for mail in smtp_sink.mails:
        assert mail.message["From"] == "Kundenportal <no-reply@kundenportal.example>"
        assert mail.message.get_content_type() == "multipart/alternative"
    await metric_reaches(mailer, "mailer_mails_sent_total", 1, template="contact-confirmation")


async def test_the_same_event_twice_gives_one_mail(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, broker: Broker
) -> None:
    # One SMTP connection, two messages in hand: the copy's claim waits for the first
    # copy's commit and then finds its record; the later event's mail cannot come before
    # the first copy is settled.
    settings = mailer_settings_for(
        database_url, amqp_names, smtp_sink.host, smtp_sink.port, mailer_concurrency=1
    )
    async with running_mailer(settings) as mailer:
        event = registration("twice@example.de")
        await broker.publish_event(event)
        await broker.publish_event(event)
        await broker.publish_event(registration("later@example.de"))

        await smtp_sink.wait_for_mail_to("later@example.de", timeout=MAIL_TIMEOUT)

        assert len(smtp_sink.to("twice@example.de")) == 1
        await metric_reaches(mailer, "mailer_duplicate_mails_total", 1, template="activation")


async def test_concurrent_copies_of_one_event_give_one_mail(
    mailer: TestClient, broker: Broker, smtp_sink: MailSink
) -> None:
    event = registration("copies@example.de")
    for _ in range(6):
        await broker.publish_event(event)

    await metric_reaches(mailer, "mailer_duplicate_mails_total", 5, template="activation")
    assert len(smtp_sink.to("copies@example.de")) == 1


async def test_undecodable_messages_are_dead_lettered_while_good_ones_are_mailed(
    mailer: TestClient, broker: Broker, smtp_sink: MailSink
) -> None:
    malformed = b'{"event_type": "registration-created", oops'
    unknown = Envelope(
        event_type="account-deleted", schema_version=1, correlation_id="test", payload={}
    ).model_dump_json().encode()
    future_version = Envelope(
        event_type="reset-requested", schema_version=99, correlation_id="test", payload={}
    ).model_dump_json().encode()
    await broker.publish(malformed, RoutingKey.REGISTRATION_CREATED)
    await broker.publish(unknown, RoutingKey.RESET_REQUESTED)
    await broker.publish(future_version, RoutingKey.RESET_REQUESTED)
    await broker.publish_event(registration("good@example.de"))

    await smtp_sink.wait_for_mail_to("good@example.de", timeout=MAIL_TIMEOUT)
    dead = await broker.dead_letters(3)

    by_body = {message.body: message for message in dead}
    assert set(by_body) == {malformed, unknown, future_version}
    assert by_body[malformed].headers["x-death-reason"] == "malformed"
    assert by_body[unknown].headers["x-death-reason"] == "unknown_event_type"
    assert by_body[future_version].headers["x-death-reason"] == "unsupported_schema_version"
    assert "account-deleted" in str(by_body[unknown].headers["x-death-detail"])
    assert by_body[malformed].headers["x-original-routing-key"] == RoutingKey.REGISTRATION_CREATED
    assert len(smtp_sink.mails) == 1
    await metric_reaches(
        mailer, "mailer_mails_dead_lettered_total", 1, template="none", reason="malformed"
    )


async def test_a_well_formed_envelope_with_an_invalid_payload_is_dead_lettered(
    mailer: TestClient, broker: Broker
) -> None:
    body = Envelope(
        event_type="registration-created", schema_version=1, correlation_id="test",
        payload={"email": "max@example.de"},
    ).model_dump_json().encode()
    await broker.publish(body, RoutingKey.REGISTRATION_CREATED)

    [dead] = await broker.dead_letters(1)

    assert dead.body == body
    assert dead.headers["x-death-reason"] == "malformed"
    # The detail names the missing fields, never the values of those that are there.
    assert "activation_token" in str(dead.headers["x-death-detail"])
    assert "max@example.de" not in str(dead.headers["x-death-detail"])


async def test_the_queue_is_a_quorum_queue_whose_rejects_land_in_the_dead_letter_queue(
    settings: MailerSettings, broker: Broker, amqp_names: AmqpNames
) -> None:
    async with running_mailer(settings):
        pass
    async with running_mailer(settings):  # declaring an existing topology again is fine
        pass
    # Nobody consumes now: reject a message the way the broker's own limits would.
    await broker.publish_event(registration("rejected@example.de"))
    rejected = await broker.take(amqp_names.mailer_queue)
    await rejected.reject(requeue=False)

    [dead] = await broker.dead_letters(1)

    assert dead.body == rejected.body
    assert dead.headers["x-death"][0]["reason"] == "rejected"
    connection = await aio_pika.connect(amqp_names.url)
    async with connection:
        channel = await connection.channel()
        classic_with_the_same_dead_lettering = {
            **SAFE_DEAD_LETTERING,
            "x-dead-letter-exchange": amqp_names.dead_letter_exchange,
            "x-dead-letter-routing-key": amqp_names.mailer_queue,
            "x-delivery-limit": DELIVERY_LIMIT,
        }
        with pytest.raises(ChannelPreconditionFailed, match="x-queue-type"):
            await channel.declare_queue(
                amqp_names.mailer_queue, durable=True, arguments=classic_with_the_same_dead_lettering
            )


async def test_the_retry_path_is_declared_at_start(
    mailer: TestClient, broker: Broker, amqp_names: AmqpNames
) -> None:
    for delay in TEST_RETRY_DELAYS:
        name = retry_queue_name(amqp_names.mailer_queue, delay)
        # Declared, empty and without consumers: messages only pass through.
        assert await broker.queue_state(name) == (0, 0)


async def test_readyz_is_200_when_database_and_broker_answer(mailer: TestClient) -> None:
    response = await mailer.get("/readyz")

    assert response.status == 200
    assert (await response.json())["checks"] == {"database": "ok", "broker": "ok", "smtp": "ok"}


async def test_readyz_is_503_while_the_broker_is_unreachable(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    names = AmqpNames(
        url="amqp://guest:guest@127.0.0.1:1/", exchange=amqp_names.exchange,
        dead_letter_exchange=amqp_names.dead_letter_exchange,
        mailer_queue=amqp_names.mailer_queue,
        mailer_dead_letter_queue=amqp_names.mailer_dead_letter_queue,
    )
    settings = mailer_settings_for(database_url, names, smtp_sink.host, smtp_sink.port)
    app: web.Application = create_app(settings)
    async with running(app) as client:
        response = await client.get("/readyz")

        assert response.status == 503
        assert (await response.json())["checks"] == {
            "database": "ok", "broker": "unavailable", "smtp": "ok"
        }


async def test_the_consumer_comes_back_after_a_broker_outage(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, broker: Broker
) -> None:
    proxy = await TcpProxy("127.0.0.1", 5672).start()
    via_proxy = dataclasses.replace(amqp_names, url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/")
    settings = mailer_settings_for(database_url, via_proxy, smtp_sink.host, smtp_sink.port)
    try:
        async with running_mailer(settings) as mailer:
            await proxy.cut()
            await eventually(lambda: readyz_status_is(mailer, 503), timeout=MAIL_TIMEOUT)
            # Published during the outage: the durable queue keeps it for the mailer.
            await broker.publish_event(registration("during-outage@example.de"))

            await proxy.restore()

            await smtp_sink.wait_for_mail_to("during-outage@example.de", timeout=MAIL_TIMEOUT)
            await eventually(lambda: readyz_status_is(mailer, 200), timeout=MAIL_TIMEOUT)
    finally:
        await proxy.cut()


async def test_metrics_count_sent_mails_by_template(
    mailer: TestClient, broker: Broker, smtp_sink: MailSink
) -> None:
    await broker.publish_event(registration("a@example.de"))
    await broker.publish_event(registration("b@example.de"))
    await broker.publish_event(reset_request("c@example.de"))
    await smtp_sink.wait_for(lambda mails: len(mails) == 3, timeout=MAIL_TIMEOUT)
    await metric_reaches(mailer, "mailer_mails_sent_total", 1, template="password-reset")
    await metric_reaches(mailer, "mailer_mails_sent_total", 2, template="activation")

    response = await mailer.get("/metrics")
    text = await response.text()

    assert response.status == 200
    assert response.content_type == "text/plain"
    assert 'mailer_mails_sent_total{template="activation"} 2.0' in text
    assert 'mailer_mails_sent_total{template="password-reset"} 1.0' in text
    assert await metric(mailer, "mailer_send_duration_seconds_count", template="activation") == 2
    for name in ("mailer_mails_retried", "mailer_mails_dead_lettered", "mailer_mails_expired",
                 "mailer_duplicate_mails", "mailer_messages_in_flight"):
        assert f"# HELP {name}" in text, name
    assert await gauge(mailer, "mailer_messages_in_flight") == 0


async def test_two_apps_in_one_process_keep_their_own_metrics(
    mailer: TestClient, broker: Broker, smtp_sink: MailSink, settings: MailerSettings
) -> None:
    await broker.publish_event(registration("one@example.de"))
    await metric_reaches(mailer, "mailer_mails_sent_total", 1, template="activation")

    async with running(create_app(settings)) as other:
        assert await metric(other, "mailer_mails_sent_total", template="activation") == 0
    assert await metric(mailer, "mailer_mails_sent_total", template="activation") == 1
