"""The mailer against an SMTP server that refuses, stalls and hangs up on cue."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from portal_devtools.mailsink import free_port
from portal_mailer.app import create_app
from portal_mailer.config import MailerSettings
from portal_mailer.keys import CONSUMER
from portal_shared.events import encode
from tests.conftest import AmqpNames
from tests.integration.test_mailer import (
    MAIL_TIMEOUT,
    broker_for,
    metric,
    metric_reaches,
    processed_mails,
    registration,
    running_mailer,
)
from tests.integration.test_mailer import mailer_settings_for as settings_for
from tests.support import eventually, running

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Delivery:
    recipients: tuple[str, ...]
    peer: Any  # the client's (host, port): one per SMTP connection


class ScriptedSmtpServer:
    """An aiosmtpd server (own thread) whose answers the test decides."""

    def __init__(self) -> None:
        self.refusals: dict[str, str] = {}  # recipient -> reply to RCPT TO
        self.data_gate: threading.Event | None = None  # when set up, DATA waits for it
        self.data_entered = threading.Event()
        self._deliveries: list[Delivery] = []
        self._sessions: list[SMTP] = []
        self._changed = threading.Condition()
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def host(self) -> str:
        return self._controller.hostname

    @property
    def port(self) -> int:
        return self._controller.port

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_entered.set()
        if self.data_gate is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.data_gate.wait, 30)
        with self._changed:
            self._sessions.append(server)
            self._deliveries.append(Delivery(tuple(envelope.rcpt_tos), session.peer))
            self._changed.notify_all()
        return "250 OK"

    @property
    def deliveries(self) -> list[Delivery]:
        with self._changed:
            return list(self._deliveries)

    def delivered_to(self, address: str) -> list[Delivery]:
        return [d for d in self.deliveries if address in d.recipients]

    async def wait_for(self, predicate: Callable[[list[Delivery]], bool]) -> list[Delivery]:
        def wait() -> list[Delivery]:
            with self._changed:
                if not self._changed.wait_for(lambda: predicate(self._deliveries), MAIL_TIMEOUT):
                    raise TimeoutError(f"SMTP condition not met ({len(self._deliveries)} mails)")
                return list(self._deliveries)

        return await asyncio.to_thread(wait)

    def hang_up(self) -> None:
        """Close every client connection, as a server does with idle sessions."""
        with self._changed:
            sessions = list(self._sessions)
        for session in sessions:
            if session.transport is not None:
                self._controller.loop.call_soon_threadsafe(session.transport.close)

    def start(self) -> ScriptedSmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        if self.data_gate is not None:
            self.data_gate.set()
        self._controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[ScriptedSmtpServer]:
    server = ScriptedSmtpServer().start()
    yield server
    server.stop()


def settings(
    database_url: str, names: AmqpNames, server: ScriptedSmtpServer, **overrides: object
) -> MailerSettings:
    return settings_for(database_url, names, server.host, server.port, **overrides)


async def test_a_refused_recipient_is_dead_lettered_and_the_next_mail_still_goes_out(
    database_url: str, amqp_names: AmqpNames, smtp_server: ScriptedSmtpServer
) -> None:
    smtp_server.refusals["nobody@example.de"] = "550 5.1.1 Mailbox unavailable"
    refused = registration("nobody@example.de")
    async with (
        running_mailer(settings(database_url, amqp_names, smtp_server)) as mailer,
        broker_for(amqp_names) as broker,
    ):
        await broker.publish_event(refused)
        await broker.publish_event(registration("good@example.de"))

        await smtp_server.wait_for(lambda _: bool(smtp_server.delivered_to("good@example.de")))
        [dead] = await broker.dead_letters(1)

        assert dead.body == encode(refused)
        assert dead.headers["x-death-reason"] == "smtp_permanent"
        assert "550" in str(dead.headers["x-death-detail"])
        await metric_reaches(
            mailer, "mailer_mails_dead_lettered_total", 1,
            template="activation", reason="smtp_permanent",
        )
    # The refused mail was not recorded as sent, so a replay from the DLQ can send it.
    assert (str(refused.event_id), "activation") not in await processed_mails(database_url)


async def test_a_recipient_the_server_defers_does_not_hold_up_the_others(
    database_url: str, amqp_names: AmqpNames, smtp_server: ScriptedSmtpServer
) -> None:
    smtp_server.refusals["busy@example.de"] = "451 4.2.0 Try again later"
    config = settings(database_url, amqp_names, smtp_server, mailer_concurrency=2)
    async with running_mailer(config) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(registration("busy@example.de"))
        others = [f"other{i}@example.de" for i in range(4)]
        for address in others:
            await broker.publish_event(registration(address))

        await smtp_server.wait_for(
            lambda _: all(smtp_server.delivered_to(address) for address in others)
        )
        assert smtp_server.delivered_to("busy@example.de") == []
        assert await metric(mailer, "mailer_mails_retried_total", template="activation") >= 1

        del smtp_server.refusals["busy@example.de"]
        await smtp_server.wait_for(lambda _: bool(smtp_server.delivered_to("busy@example.de")))

        ready, _ = await broker.queue_state(amqp_names.mailer_dead_letter_queue)
        assert ready == 0


async def test_one_connection_is_reused_and_reopened_after_the_server_hangs_up(
    database_url: str, amqp_names: AmqpNames, smtp_server: ScriptedSmtpServer
) -> None:
    config = settings(database_url, amqp_names, smtp_server, mailer_concurrency=1)
    async with running_mailer(config) as mailer, broker_for(amqp_names) as broker:
        for i in range(3):
            await broker.publish_event(registration(f"first{i}@example.de"))
        first = await smtp_server.wait_for(lambda mails: len(mails) == 3)
        assert len({d.peer for d in first}) == 1

        smtp_server.hang_up()
        await broker.publish_event(registration("after@example.de"))
        [after] = (await smtp_server.wait_for(lambda mails: len(mails) == 4))[3:]

        assert after.peer != first[0].peer
        await metric_reaches(mailer, "mailer_mails_sent_total", 4, template="activation")
        # The dropped connection was noticed before use, not by failing a mail.
        assert await metric(mailer, "mailer_mails_retried_total", template="activation") == 0


async def test_shutdown_stops_consuming_and_lets_the_mail_in_progress_finish(
    database_url: str, amqp_names: AmqpNames, smtp_server: ScriptedSmtpServer
) -> None:
    smtp_server.data_gate = threading.Event()
    in_progress = registration("slow@example.de")
    app = create_app(settings(database_url, amqp_names, smtp_server))
    serving = running(app)
    await serving.__aenter__()
    async with broker_for(amqp_names) as broker:
        await eventually(lambda: consuming(app, True), timeout=MAIL_TIMEOUT)
        await broker.publish_event(in_progress)
        assert await asyncio.to_thread(smtp_server.data_entered.wait, MAIL_TIMEOUT)

        shutdown = asyncio.create_task(serving.__aexit__(None, None, None))
        await eventually(lambda: consuming(app, False), timeout=MAIL_TIMEOUT)
        # Arrives after the consumer was cancelled: stays in the queue for the next start.
        await broker.publish_event(registration("later@example.de"))
        assert not shutdown.done()

        smtp_server.data_gate.set()
        await asyncio.wait_for(shutdown, MAIL_TIMEOUT)

        assert [d.recipients for d in smtp_server.deliveries] == [("slow@example.de",)]
        ready, consumers = await broker.queue_state(amqp_names.mailer_queue)
        assert (ready, consumers) == (1, 0)
    assert await processed_mails(database_url) == {(str(in_progress.event_id), "activation")}


async def consuming(app: web.Application, expected: bool) -> bool:
    return CONSUMER in app and app[CONSUMER].consuming is expected
