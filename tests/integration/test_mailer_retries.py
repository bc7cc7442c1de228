"""Failed mails: retried with growing pauses from delay queues, or dead-lettered.

The SMTP server is the project's aiosmtpd sink told to misbehave (`Fault`): answer
4xx or 5xx, or hang up. Retry pauses are fractions of a second (tests/conftest.py: TEST_RETRY_DELAYS).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from portal_devtools.mailsink import Fault, MailSink, free_port
from portal_mailer.topology import retry_queue_name
from portal_shared.events import encode
from portal_shared.topology import RoutingKey
from tests.conftest import AmqpNames
from tests.integration.test_mailer import (
    MAIL_TIMEOUT,
    SUPPORT,
    TEST_MAX_ATTEMPTS,
    broker_for,
    contact_request,
    gauge,
    metric,
    metric_reaches,
    processed_mails,
    readyz_status_is,
    registration,
    reset_request,
    running_consumer,
    running_mailer,
)
from tests.integration.test_mailer import mailer_settings_for as settings_for
from tests.support import eventually

pytestmark = pytest.mark.integration

TRY_LATER = "451 4.3.0 Try again later"


async def test_a_mail_deferred_with_4xx_is_retried_and_then_delivered_once(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    smtp_sink.inject(Fault(reply=TRY_LATER, times=2))
    event = registration("later@example.de")
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(event)

        await smtp_sink.wait_for_mail_to("later@example.de", timeout=MAIL_TIMEOUT)

        assert [r.answer for r in smtp_sink.refusals] == [TRY_LATER, TRY_LATER]
        await metric_reaches(mailer, "mailer_mails_sent_total", 1, template="activation")
        assert await metric(mailer, "mailer_mails_retried_total", template="activation") == 2
        assert len(smtp_sink.mails) == 1
        assert await broker.queue_state(amqp_names.mailer_dead_letter_queue) == (0, 0)
    assert await processed_mails(database_url) == {(str(event.event_id), "activation")}


async def test_a_dropped_connection_is_retried_on_a_new_one(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    smtp_sink.inject(Fault(drop=True, times=1))
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(registration("dropped@example.de"))

        await smtp_sink.wait_for_mail_to("dropped@example.de", timeout=MAIL_TIMEOUT)

        assert [r.answer for r in smtp_sink.refusals] == ["dropped"]
        await metric_reaches(mailer, "mailer_mails_sent_total", 1, template="activation")
        assert await metric(mailer, "mailer_mails_retried_total", template="activation") == 1


async def test_a_mail_refused_with_5xx_is_dead_lettered_at_once(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    smtp_sink.inject(Fault(reply="554 5.7.1 Message rejected", recipient="spam@example.de",
                           times=None))
    refused = reset_request("spam@example.de")
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(refused)
        await broker.publish_event(registration("fine@example.de"))

        [dead] = await broker.dead_letters(1)
        await smtp_sink.wait_for_mail_to("fine@example.de", timeout=MAIL_TIMEOUT)

        assert dead.body == encode(refused)
        assert dead.headers["x-death-reason"] == "smtp_permanent"
        assert dead.headers["x-death-detail"] == "SMTPDataError 554"
        assert dead.headers["x-mailer-template"] == "password-reset"
        assert dead.headers["x-original-routing-key"] == RoutingKey.RESET_REQUESTED
        assert len(smtp_sink.refusals) == 1  # not tried a second time
        assert await metric(mailer, "mailer_mails_retried_total", template="password-reset") == 0
        await metric_reaches(
            mailer, "mailer_mails_dead_lettered_total", 1,
            template="password-reset", reason="smtp_permanent",
        )


async def test_a_mail_deferred_every_time_is_dead_lettered_after_the_last_attempt(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    smtp_sink.inject(Fault(reply=TRY_LATER, times=None))
    event = registration("never@example.de")
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(event)

        [dead] = await broker.dead_letters(1)

        assert dead.body == encode(event)  # unchanged by its trips through the delay queues
        assert dead.headers["x-death-reason"] == "retries_exhausted"
        assert dead.headers["x-death-detail"] == "SMTPDataError 451"
        assert dead.headers["x-mailer-attempts"] == TEST_MAX_ATTEMPTS
        # It came back through the delay queues, yet its origin is kept for a replay.
        assert dead.headers["x-original-routing-key"] == RoutingKey.REGISTRATION_CREATED
        assert dead.headers["x-original-exchange"] == amqp_names.exchange
        assert len(smtp_sink.refusals) == TEST_MAX_ATTEMPTS
        assert await metric(mailer, "mailer_mails_retried_total", template="activation") == (
            TEST_MAX_ATTEMPTS - 1
        )
        await metric_reaches(
            mailer, "mailer_mails_dead_lettered_total", 1,
            template="activation", reason="retries_exhausted",
        )
    assert await processed_mails(database_url) == set()


async def test_a_message_waiting_for_its_retry_holds_no_worker_slot(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    # One worker slot and a pause long enough to look at: the deferred message must sit
    # in the delay queue, not in the mailer, while the others go out.
    pause = 1.5
    smtp_sink.inject(Fault(reply=TRY_LATER, recipient="busy@example.de", times=1))
    settings = settings_for(
        database_url, amqp_names, smtp_sink.host, smtp_sink.port,
        mailer_concurrency=1, mailer_retry_delays_seconds=(pause,),
    )
    others = [f"other{i}@example.de" for i in range(3)]
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(registration("busy@example.de"))
        await smtp_sink.wait_for_refusals(1, timeout=MAIL_TIMEOUT)
        for address in others:
            await broker.publish_event(registration(address))

        await smtp_sink.wait_for(
            lambda mails: len(mails) == len(others), timeout=MAIL_TIMEOUT
        )
        delay_queue = retry_queue_name(amqp_names.mailer_queue, pause)
        assert await broker.queue_state(delay_queue) == (1, 0)
        assert smtp_sink.to("busy@example.de") == []
        # The last mail's message settles just after the sink has it.
        await eventually(lambda: in_flight_is(mailer, 0), timeout=pause / 2)
        assert await broker.queue_state(delay_queue) == (1, 0), "still parked meanwhile"

        await smtp_sink.wait_for_mail_to("busy@example.de", timeout=MAIL_TIMEOUT)
        # The others first, in any order: the messages in hand are claimed at once and
        # take the one SMTP connection as their claims come back.
        recipients = [m.recipients[0] for m in smtp_sink.mails]
        assert sorted(recipients[:-1]) == others
        assert recipients[-1] == "busy@example.de"


async def in_flight_is(client: TestClient, value: float) -> bool:
    return await gauge(client, "mailer_messages_in_flight") == value


async def test_a_retried_contact_request_does_not_send_its_first_mail_again(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    # Support's copy goes out, the sender's receipt is deferred: the retry must send only
    # the receipt.
    smtp_sink.inject(Fault(reply=TRY_LATER, at="rcpt", recipient="sender@example.de"))
    event = contact_request("sender@example.de", locale="en")
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(event)

        receipt = await smtp_sink.wait_for_mail_to("sender@example.de", timeout=MAIL_TIMEOUT)

        assert len(smtp_sink.refusals) == 1
        assert [m.recipients for m in smtp_sink.mails] == [(SUPPORT,), ("sender@example.de",)]
        assert receipt.message["Reply-To"] == SUPPORT
        assert smtp_sink.to(SUPPORT)[0].message["Reply-To"] == "Max Mustermann <sender@example.de>"
        await metric_reaches(mailer, "mailer_mails_sent_total", 1, template="contact-confirmation")
        assert await metric(mailer, "mailer_mails_sent_total", template="contact-support") == 1
        assert await metric(mailer, "mailer_duplicate_mails_total", template="contact-support") == 1
    event_id = str(event.event_id)
    assert await processed_mails(database_url) == {
        (event_id, "contact-support"), (event_id, "contact-confirmation")
    }


async def test_an_unreachable_smtp_server_is_waited_for_and_reported_by_readyz(
    database_url: str, amqp_names: AmqpNames
) -> None:
    port = free_port()  # nothing listens here yet
    settings = settings_for(
        database_url, amqp_names, "127.0.0.1", port,
        mailer_retry_delays_seconds=(0.2,), mailer_max_attempts=100,
    )
    # Started without waiting for /readyz, which is the point: it must say 503 now.
    async with running_consumer(settings) as mailer, broker_for(amqp_names) as broker:
        response = await mailer.get("/readyz")
        assert response.status == 503
        assert (await response.json())["checks"]["smtp"] == "unavailable"
        await broker.publish_event(registration("patient@example.de"))
        await eventually(lambda: retried_at_least(mailer, 2), timeout=MAIL_TIMEOUT)

        sink = MailSink(port=port).start()
        try:
            await sink.wait_for_mail_to("patient@example.de", timeout=MAIL_TIMEOUT)
            await eventually(lambda: readyz_status_is(mailer, 200), timeout=MAIL_TIMEOUT)
        finally:
            sink.stop()


async def retried_at_least(client: TestClient, count: int) -> bool:
    return await metric(client, "mailer_mails_retried_total", template="activation") >= count


async def test_an_expired_link_is_not_mailed_but_counted(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    # A reset link that expired while the event waited (an outage, many retries).
    stale = reset_request("stale@example.de", valid_for=timedelta(seconds=-1))
    settings = settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(stale)
        await broker.publish_event(registration("fresh@example.de"))

        await smtp_sink.wait_for_mail_to("fresh@example.de", timeout=MAIL_TIMEOUT)
        await metric_reaches(mailer, "mailer_mails_expired_total", 1, template="password-reset")

        assert smtp_sink.to("stale@example.de") == []
        assert await broker.queue_state(amqp_names.mailer_dead_letter_queue) == (0, 0)
        assert await broker.queue_state(amqp_names.mailer_queue) == (0, 1)

