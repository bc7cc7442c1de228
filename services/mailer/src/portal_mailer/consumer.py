"""The mailer queue's consumer: decode, deduplicate, send, acknowledge.

Each message ends in exactly one of four ways:
- mailed: the event id is recorded and the mail sent in one database transaction, then
  the message is acknowledged (a redelivery finds the id and is acknowledged unsent);
- dead-lettered: it can never become a mail (not an event we know, or a mail the SMTP
  server refuses for good), so its raw body goes to the dead-letter queue with the reason;
- retried: the SMTP server or the database failed for now; the message goes back to the
  queue after a pause and only its own worker slot waits;
- left unacknowledged when the broker connection is lost; the broker redelivers it.

Logs name the event id, type and template only: bodies carry tokens and addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

from portal_mailer import repository as repo
from portal_mailer.config import MailerSettings
from portal_mailer.metrics import MailerMetrics
from portal_mailer.rendering import (
    MailContext,
    NotMailable,
    build_message,
    render_mail,
    template_for,
)
from portal_mailer.smtp import PermanentSmtpError, SmtpPool
from portal_mailer.topology import declare_topology
from portal_shared.events import Event, EventError, UnknownEventType, decode

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10.0
PUBLISH_TIMEOUT_SECONDS = 10.0
RECONNECT_DELAY_MAX_SECONDS = 10.0
# Requeue pause for transient failures: doubles with the broker's delivery count, so a
# lasting outage costs little while a one-off hiccup is retried almost at once.
RETRY_DELAY_FIRST_SECONDS = 0.5
RETRY_DELAY_MAX_SECONDS = 30.0
DETAIL_MAX_CHARS = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


class MailConsumer:
    def __init__(
        self,
        settings: MailerSettings,
        pool: asyncpg.Pool,
        smtp: SmtpPool,
        metrics: MailerMetrics,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._smtp = smtp
        self._metrics = metrics
        self._context = MailContext.from_settings(settings)
        self._dead_letter_key = ""
        self._dead_letters: AbstractExchange | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        # A send may need a connect plus a few SMTP commands, each bounded by the timeout.
        self.drain_seconds = 3 * settings.smtp_timeout_seconds
        # True while messages may arrive: readiness reports it, and it turns False as
        # soon as the broker confirms that no more will come (outage or shutdown).
        self.consuming = False

    # --- lifecycle -----------------------------------------------------------------

    async def run(self) -> None:
        """Consume until `stop()`; outlives broker outages by reconnecting."""
        delay = 0.5
        while not self._stopping.is_set():
            try:
                await self._consume_until_lost_or_stopped()
                delay = 0.5
            except Exception as exc:  # noqa: BLE001 - the consumer must outlive any outage
                log.warning("mail consumer paused: %s: %s", type(exc).__name__, exc)
            if self._stopping.is_set():
                break
            await self._pause(delay)
            delay = min(delay * 2, RECONNECT_DELAY_MAX_SECONDS)

    def stop(self) -> None:
        """Stop taking messages; those in hand finish (bounded) before `run` returns."""
        self._stopping.set()

    async def _consume_until_lost_or_stopped(self) -> None:
        connection = await aio_pika.connect(
            self._settings.amqp_url, timeout=CONNECT_TIMEOUT_SECONDS
        )
        lost = asyncio.Event()
        connection.close_callbacks.add(lambda *_: lost.set())
        try:
            channel = await connection.channel(publisher_confirms=False)
            # Dead letters are published with confirms: the original is acknowledged only
            # once the broker has taken the copy.
            publisher = await connection.channel(publisher_confirms=True, on_return_raises=True)
            for ch in (channel, publisher):
                ch.close_callbacks.add(lambda *_: lost.set())
            await channel.set_qos(prefetch_count=self._settings.mailer_concurrency)
            topology = await declare_topology(channel, self._settings)
            self._dead_letters = await publisher.get_exchange(self._settings.dead_letter_exchange)
            self._dead_letter_key = topology.dead_letter_routing_key
            consumer_tag = await topology.queue.consume(self._on_message)
            self.consuming = True
            log.info("consuming %s", self._settings.mailer_queue)
            await _first_set(lost, self._stopping)
            if lost.is_set():
                raise ConnectionError("broker connection or channel closed")
            await topology.queue.cancel(consumer_tag)
            self.consuming = False
            await self._drain()
        finally:
            self.consuming = False
            await connection.close()

    async def _drain(self) -> None:
        if not self._handlers:
            return
        log.info("waiting for %d mail(s) in progress", len(self._handlers))
        _, unfinished = await asyncio.wait(set(self._handlers), timeout=self.drain_seconds)
        for task in unfinished:
            task.cancel()
        if unfinished:
            log.warning("%d mail(s) cancelled at shutdown; to be redelivered", len(unfinished))
            await asyncio.wait(unfinished)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the consumer is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # --- one message ---------------------------------------------------------------

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # aio-pika runs each delivery in a task of its own; tracked for the shutdown drain.
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._handle(message)
        except Exception as exc:  # noqa: BLE001 - one message must not stop the others
            # Typically the channel went away under us: what was not acknowledged is
            # redelivered, and the recorded event id prevents a second mail.
            log.warning("message %s not settled: %s", message.message_id, type(exc).__name__)
            if not message.processed:
                # Otherwise it would hold a prefetch slot until the connection closes.
                with contextlib.suppress(Exception):
                    await message.reject(requeue=True)
        finally:
            self._handlers.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        if self._stopping.is_set():
            await message.reject(requeue=True)
            return
        try:
            event = decode(message.body)
        except EventError as exc:
            await self._dead_letter(message, "none", exc.reason, str(exc))
            return
        template = template_for(event.envelope.event_type)
        try:
            mail = self._build(event)
        except NotMailable as exc:
            await self._dead_letter(message, template, UnknownEventType.reason, str(exc))
            return
        except Exception as exc:
            log.exception("%s: cannot render the mail", _about(event, template))
            await self._dead_letter(message, template, "render_failed", type(exc).__name__)
            return
        try:
            sent = await self._send_once(event, template, mail)
        except PermanentSmtpError as exc:
            await self._dead_letter(message, template, "smtp_permanent", exc.detail)
            return
        except Exception as exc:  # noqa: BLE001 - SMTP, database or network: all worth a retry
            await self._retry_later(message, event, template, exc)
            return
        await message.ack()
        if sent:
            self._metrics.sent.labels(template).inc()
            log.info("%s: mailed", _about(event, template))
        else:
            self._metrics.duplicates.labels(template).inc()
            log.info("%s: already mailed, skipped", _about(event, template))

    def _build(self, event: Event) -> EmailMessage:
        return build_message(render_mail(event, self._context), self._settings.mail_from, utc_now())

    async def _send_once(self, event: Event, template: str, mail: EmailMessage) -> bool:
        """Send unless already sent; False for a duplicate. Record and send commit together."""
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await repo.claim_event(
                conn, event.event_id, event.envelope.event_type, template
            )
            if not claimed:
                return False
            started = time.perf_counter()
            await self._smtp.send(mail)
            self._metrics.send_seconds.labels(template).observe(time.perf_counter() - started)
        return True

    async def _dead_letter(
        self, message: AbstractIncomingMessage, template: str, reason: str, detail: str
    ) -> None:
        if self._dead_letters is None:
            raise RuntimeError("dead-letter exchange not declared")
        copy = aio_pika.Message(
            message.body,
            headers={
                "x-death-reason": reason,
                "x-death-detail": detail[:DETAIL_MAX_CHARS],
                "x-original-exchange": message.exchange or "",
                "x-original-routing-key": message.routing_key or "",
            },
            content_type=message.content_type,
            message_id=message.message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            await self._dead_letters.publish(
                copy, self._dead_letter_key, mandatory=True, timeout=PUBLISH_TIMEOUT_SECONDS
            )
        except Exception as exc:  # noqa: BLE001 - acknowledging now would lose the message
            log.warning(
                "message %s: dead-lettering failed, retrying: %s",
                message.message_id, type(exc).__name__,
            )
            await self._pause(self._retry_delay(message))
            await message.reject(requeue=True)
            return
        await message.ack()
        self._metrics.dead_lettered.labels(template, reason).inc()
        log.warning("message %s dead-lettered (%s, %s)", message.message_id, template, reason)

    async def _retry_later(
        self, message: AbstractIncomingMessage, event: Event, template: str, exc: Exception
    ) -> None:
        """Requeue after a pause.

        Seam for the delayed retry path: publishing to a delay queue and acknowledging
        here would free the worker slot instead of holding it for the pause.
        """
        self._metrics.retried.labels(template).inc()
        delay = self._retry_delay(message)
        log.warning(
            "%s: not sent, retrying in %.1fs: %s",
            _about(event, template), delay, getattr(exc, "detail", type(exc).__name__),
        )
        await self._pause(delay)
        await message.reject(requeue=True)

    @staticmethod
    def _retry_delay(message: AbstractIncomingMessage) -> float:
        deliveries = (message.headers or {}).get("x-delivery-count", 0)
        attempt = deliveries if isinstance(deliveries, int) else 0
        return min(RETRY_DELAY_MAX_SECONDS, RETRY_DELAY_FIRST_SECONDS * 2 ** min(attempt, 10))


def _about(event: Event, template: str) -> str:
    """How logs name an event: never its payload, which holds the token and address."""
    return f"event {event.event_id} ({event.envelope.event_type}, {template})"


async def _first_set(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
