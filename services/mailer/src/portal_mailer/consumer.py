"""The mailer queue's consumer: connect, take messages, hand each to `MailDelivery`, apply
the outcome it returns (acknowledge, retry later through a delay queue, dead-letter), stop.

At most `MAILER_CONCURRENCY` mails are sent at once, one per SMTP connection of the
pool; the broker delivers `PREFETCH_PER_SLOT` times as many, and all of them are worked
on: a message waiting for a connection is already decoded, rendered and claimed, so a
connection that finishes a mail (and its commit) starts the next one at once instead of
waiting a broker round trip and a database round trip for it. The consumer outlives broker outages by reconnecting; what it
had not settled when a connection dropped is redelivered by the broker. On `stop()`
(SIGTERM) it cancels its subscription first, so no new message arrives, lets the mails
in progress finish (bounded), and only then closes the connection; messages it could
not finish are redelivered, to another replica if one runs.

While delivery is paused (`pause`: the SMTP server refuses our login, certificate or
EHLO name) it cancels its subscription and takes nothing until the pause ends, rather
than rejecting messages with requeue under a prefetch: that would spin them through the
broker (and count each return against the quorum queue's delivery limit), and would keep
them from a replica that can send. Messages already in hand go back to the queue, no
attempt spent, and are delivered again before later ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import ChannelInvalidStateError

from portal_mailer.config import MailerSettings
from portal_mailer.delivery import MailDelivery
from portal_mailer.domain.outcomes import Failed, GiveUp, Hold, Outcome, Retry, Sent
from portal_mailer.metrics import MailerMetrics
from portal_mailer.pause import DeliveryPause, Problem
from portal_mailer.settlement import Settlement
from portal_mailer.topology import declare_topology, retry_queue_name

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10.0
RECONNECT_DELAY_MAX_SECONDS = 10.0
# A message that could not be settled at all (the broker would not take its retry or
# dead-letter copy) is handed back after this pause, so a broken broker path does not
# become a busy loop. Only this abnormal case holds a worker slot while waiting.
UNSETTLED_PAUSE_SECONDS = 1.0
# Messages delivered per SMTP connection: one being sent, one claimed and waiting for
# the connection.
PREFETCH_PER_SLOT = 2


class MailConsumer:
    def __init__(
        self,
        settings: MailerSettings,
        delivery: MailDelivery,
        metrics: MailerMetrics,
        pause: DeliveryPause,
    ) -> None:
        self._settings = settings
        self._delivery = delivery
        self._metrics = metrics
        self._delivery_pause = pause
        self._settlement: Settlement | None = None
        self._connection: AbstractConnection | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        # Messages in hand: what the prefetch allows (also across a reconnect, when the
        # old channel's messages may still be finishing).
        self._slots = asyncio.Semaphore(PREFETCH_PER_SLOT * settings.mailer_concurrency)
        self._stopping = asyncio.Event()
        # A message may need a connect plus a few SMTP commands for each of its (at most
        # two) mails, each bounded by the timeout.
        self.drain_seconds = 4 * settings.smtp_timeout_seconds
        # True while messages may arrive (or would, but for a pause): readiness reports
        # it, and it turns False as soon as the broker confirms that no more will come
        # (outage or shutdown).
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
        self._connection = connection
        try:
            channel = await connection.channel(publisher_confirms=False)
            # Retry and dead-letter copies are published with confirms: the original is
            # acknowledged only once the broker has taken the copy.
            publisher = await connection.channel(publisher_confirms=True, on_return_raises=True)
            for ch in (channel, publisher):
                ch.close_callbacks.add(lambda *_: lost.set())
            await channel.set_qos(
                prefetch_count=PREFETCH_PER_SLOT * self._settings.mailer_concurrency
            )
            topology = await declare_topology(channel, self._settings)
            dead_letters = await publisher.get_exchange(self._settings.dead_letter_exchange)
            self._settlement = Settlement(publisher, topology, dead_letters)
            self.consuming = True
            consumer_tag = await self._follow_the_pause(topology.queue, lost)
            if consumer_tag is not None:
                await topology.queue.cancel(consumer_tag)
            self.consuming = False
            await self._drain()
        finally:
            self.consuming = False
            self._connection = None
            await connection.close()

    async def _follow_the_pause(self, queue: AbstractQueue, lost: asyncio.Event) -> str | None:
        """Subscribed while delivery runs, unsubscribed while it is paused, until stop();
        returns the subscription still open then. Raises when the broker is lost."""
        consumer_tag: str | None = None
        while True:
            if self._delivery_pause.paused:
                if consumer_tag is not None:
                    await queue.cancel(consumer_tag)
                    consumer_tag = None
                    log.warning("not taking messages from %s while delivery is paused",
                                self._settings.mailer_queue)
                await _first_set(lost, self._stopping, self._delivery_pause.resumed)
            else:
                if consumer_tag is None:
                    consumer_tag = await queue.consume(self._on_message)
                    log.info("consuming %s", self._settings.mailer_queue)
                await _first_set(lost, self._stopping, self._delivery_pause.held)
            if lost.is_set():
                raise ConnectionError("broker connection or channel closed")
            if self._stopping.is_set():
                return consumer_tag

    async def _drain(self) -> None:
        if not self._handlers:
            return
        log.info("waiting for %d message(s) in progress", len(self._handlers))
        _, unfinished = await asyncio.wait(set(self._handlers), timeout=self.drain_seconds)
        for task in unfinished:
            task.cancel()
        if unfinished:
            log.warning("%d message(s) cancelled at shutdown; to be redelivered", len(unfinished))
            await asyncio.wait(unfinished)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the consumer is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # --- what operators see -------------------------------------------------------

    async def measure_queues(self) -> None:
        """A scrape hook: each mailer queue's depth and consumers, as the broker reports
        them to a passive declare. On a channel of its own: a failed passive declare
        closes its channel, and that must never be one the consumer works on."""
        connection = self._connection
        if connection is None or connection.is_closed:
            self._metrics.forget_queues()
            return
        try:
            channel = await connection.channel(publisher_confirms=False)
            try:
                for name, kind in self._queue_kinds():
                    queue = await channel.declare_queue(name, passive=True)
                    result = queue.declaration_result
                    self._metrics.observe_queue(
                        name, kind, result.message_count or 0, result.consumer_count or 0
                    )
            finally:
                if not channel.is_closed:
                    await channel.close()
        except BaseException:
            self._metrics.forget_queues()
            raise

    def _queue_kinds(self) -> list[tuple[str, str]]:
        settings = self._settings
        retry = [
            (retry_queue_name(settings.mailer_queue, delay), "retry")
            for delay in sorted(set(settings.mailer_retry_delays_seconds))
        ]
        return [
            (settings.mailer_queue, "events"),
            *retry,
            (settings.mailer_dead_letter_queue, "dead-letters"),
        ]

    # --- one message ---------------------------------------------------------------

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # aio-pika runs each delivery in a task of its own; tracked for the shutdown drain.
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            with self._metrics.in_flight.track_inprogress():
                async with self._slots:
                    await self._handle(message)
        finally:
            self._handlers.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        settlement = self._settlement
        if self._stopping.is_set() or self._delivery_pause.paused or settlement is None:
            # Arrived between stop() or a pause and the broker taking note of the cancel:
            # back to the queue untried (a try would be one more refused login).
            await message.reject(requeue=True)
            return
        if _channel_closed(message):
            # It waited for a slot while the connection dropped; the broker redelivers it.
            return
        try:
            outcome = await self._delivery.handle(message.body, message.headers)
            await self._apply(outcome, message, settlement)
        except Exception as exc:  # noqa: BLE001 - one message must not stop the others
            # Typically the channel went away under us: what was not acknowledged is
            # redelivered, and the record of sent mails prevents a second mail.
            log.warning("message %s not settled: %s", message.message_id, type(exc).__name__)
            if not message.processed:
                await self._pause(UNSETTLED_PAUSE_SECONDS)
                # Otherwise it would hold a prefetch slot until the connection closes.
                with contextlib.suppress(Exception):
                    await message.reject(requeue=True)

    async def _apply(
        self, outcome: Outcome, message: AbstractIncomingMessage, settlement: Settlement
    ) -> None:
        match outcome:
            case Sent():
                await message.ack()
            case Failed(decision=Retry(delay=delay)):
                await settlement.retry_later(message, delay, outcome.attempt, outcome.detail)
                self._metrics.retried.labels(outcome.template).inc()
                log.warning(
                    "message %s (%s): attempt %d of %d failed (%s), retrying in %gs",
                    message.message_id, outcome.template, outcome.attempt,
                    self._settings.mailer_max_attempts, outcome.detail, delay,
                )
            case Failed(decision=Hold(reason=reason, hint=hint)):
                # Paused first, so the messages in hand go back untried.
                self._delivery_pause.hold(Problem(reason, hint, outcome.detail))
                await message.reject(requeue=True)
                log.info("message %s (%s) back in the queue, no attempt spent: delivery paused",
                         message.message_id, outcome.template)
            case Failed(decision=GiveUp(reason=reason)):
                await settlement.dead_letter(
                    message, reason, outcome.detail, outcome.template, outcome.attempt
                )
                self._metrics.dead_lettered.labels(outcome.template, reason).inc()
                log.warning("message %s dead-lettered (%s, %s: %s)", message.message_id,
                            outcome.template, reason, outcome.detail)
            case _:
                raise TypeError(f"no way to apply {outcome!r}")


def _channel_closed(message: AbstractIncomingMessage) -> bool:
    try:
        return message.channel.is_closed
    except ChannelInvalidStateError:  # aio-pika's answer for a closed channel
        return True


async def _first_set(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
