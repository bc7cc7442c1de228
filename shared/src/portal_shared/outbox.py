"""Transactional outbox: events are rows written with the change that caused them.

`enqueue` runs inside the caller's transaction, so an event exists exactly when its
change was committed. `OutboxRelay` publishes pending rows to RabbitMQ with publisher
confirms and deletes a row only once the broker confirmed it (at-least-once; consumers
deduplicate by `event_id`). While the broker is down rows simply wait. Rows are deleted
after publishing, so secrets a payload must carry (a mailed token) do not linger.

What operators watch (`OutboxMetrics`, on the owning service's `/metrics`): the backlog —
rows waiting and the age of the oldest, read from the table at scrape time, so every
replica reports the same truth whether or not its own relay is connected — and counters
of events published and of events the broker could not route.

The owning service creates the table in its own schema:
    outbox(id bigserial, event_id uuid unique, routing_key text, body bytea,
           created_at timestamptz, attempts int, available_at timestamptz)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aio_pika
import asyncpg
from aio_pika.abc import AbstractExchange
from aio_pika.exceptions import DeliveryError
from prometheus_client import CollectorRegistry, Counter, Gauge

from portal_shared.amqp import declare_events_exchange
from portal_shared.events import Event, encode
from portal_shared.tasks import stop_task

log = logging.getLogger(__name__)

ENQUEUE = """
INSERT INTO outbox (event_id, routing_key, body) VALUES ($1, $2, $3)
"""
CLAIM_BATCH = """
SELECT id, event_id, routing_key, body FROM outbox
WHERE available_at <= now()
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
DELETE_PUBLISHED = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"
POSTPONE = """
UPDATE outbox
SET attempts = attempts + 1,
    available_at = now() + make_interval(secs => least(300, 2 ^ least(attempts, 8)))
WHERE id = ANY($1::bigint[])
"""
PENDING_COUNT = "SELECT count(*) FROM outbox"
# One pass over a table that is empty in normal operation (rows live milliseconds).
BACKLOG = """
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age
FROM outbox
"""


def notify_channel(schema: str) -> str:
    return f"{schema}_outbox"


async def enqueue(conn: asyncpg.Connection, event: Event, schema: str) -> None:
    """Write `event` in the caller's transaction and wake the relay once it commits."""
    await conn.execute(ENQUEUE, event.event_id, event.routing_key, encode(event))
    await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))


class OutboxMetrics:
    """The outbox's series, labelled `outbox` with the owning schema (`auth`, `faq`)."""

    def __init__(self, registry: CollectorRegistry, outbox: str) -> None:
        self.outbox = outbox
        self.pending = Gauge(
            "outbox_pending_events",
            "Events written to the outbox and not yet confirmed by the broker.",
            ["outbox"], registry=registry,
        )
        self.oldest_age = Gauge(
            "outbox_oldest_event_age_seconds",
            "Age of the oldest event still in the outbox (0 when it is empty).",
            ["outbox"], registry=registry,
        )
        self.published = Counter(
            "outbox_events_published", "Events the broker confirmed (rows then deleted).",
            ["outbox"], registry=registry,
        )
        self.unroutable = Counter(
            "outbox_events_unroutable",
            "Publish attempts the broker returned as unroutable (no queue bound); retried later.",
            ["outbox"], registry=registry,
        )
        # Counters exist from the start, so rate() and increase() see their first step.
        self.published.labels(outbox)
        self.unroutable.labels(outbox)

    def observe_backlog(self, pending: int, oldest_age: float) -> None:
        self.pending.labels(self.outbox).set(pending)
        self.oldest_age.labels(self.outbox).set(oldest_age)

    def forget_backlog(self) -> None:
        """Unknown (database unreachable): no series rather than a stale or made-up one."""
        for gauge in (self.pending, self.oldest_age):
            try:
                gauge.remove(self.outbox)
            except KeyError:
                pass


@dataclass
class RelaySettings:
    amqp_url: str
    exchange: str
    schema: str
    batch_size: int = 100
    poll_interval: float = 1.0
    publish_timeout: float = 10.0
    reconnect_delay_max: float = 10.0


class OutboxRelay:
    """Moves outbox rows to the events exchange; one per service process is enough."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        settings: RelaySettings,
        metrics: OutboxMetrics | None = None,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._settings = settings
        self._metrics = metrics
        self._wakeup = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = False

    async def run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._listen()
                connection = await aio_pika.connect(self._settings.amqp_url, timeout=10)
                async with connection:
                    lost = asyncio.Event()
                    connection.close_callbacks.add(lambda *_, lost=lost: self._lose(lost))
                    channel = await connection.channel(
                        publisher_confirms=True, on_return_raises=True
                    )
                    channel.close_callbacks.add(lambda *_, lost=lost: self._lose(lost))
                    exchange = await declare_events_exchange(channel, self._settings.exchange)
                    self.connected = True
                    delay = 0.5
                    log.info("outbox relay connected to the broker")
                    await self._relay_until_lost(exchange, lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the relay must outlive any outage
                log.warning("outbox relay paused: %s: %s", type(exc).__name__, exc)
            finally:
                self.connected = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._settings.reconnect_delay_max)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self._settings.schema}")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
        self._listener = None

    def _lose(self, lost: asyncio.Event) -> None:
        # aio-pika reports a dropped connection only through its close callbacks.
        lost.set()
        self._wakeup.set()

    async def _relay_until_lost(self, exchange: AbstractExchange, lost: asyncio.Event) -> None:
        while not lost.is_set():
            # Cleared before the batch, not after it: a row committed while the batch is
            # being published notifies during it, and must not wait for the next poll.
            self._wakeup.clear()
            if await self.publish_batch(exchange) == self._settings.batch_size:
                continue
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._settings.poll_interval)
            except TimeoutError:
                pass
        raise ConnectionError("broker connection lost")

    async def publish_batch(self, exchange: AbstractExchange) -> int:
        """Publish one batch of due rows; returns how many rows it handled."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(CLAIM_BATCH, self._settings.batch_size)
            if not rows:
                return 0
            results = await asyncio.gather(
                *(self._publish(exchange, row) for row in rows), return_exceptions=True
            )
            published = [r["id"] for r, ok in zip(rows, results, strict=True) if ok is True]
            unroutable = [r["id"] for r, ok in zip(rows, results, strict=True) if ok is False]
            await conn.execute(DELETE_PUBLISHED, published)
            await conn.execute(POSTPONE, unroutable)
            failure = next((r for r in results if isinstance(r, BaseException)), None)
        if self._metrics is not None:
            self._metrics.published.labels(self._metrics.outbox).inc(len(published))
            self._metrics.unroutable.labels(self._metrics.outbox).inc(len(unroutable))
        if isinstance(failure, asyncio.CancelledError):
            # A publish cancelled under us (its channel closed) is a broker problem to
            # reconnect from, not a request to stop the relay.
            raise ConnectionError("publish cancelled") from failure
        if failure is not None:
            raise failure
        return len(rows)

    async def _publish(self, exchange: AbstractExchange, row: asyncpg.Record) -> bool:
        message = aio_pika.Message(
            row["body"],
            content_type="application/json",
            message_id=str(row["event_id"]),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            await exchange.publish(
                message, row["routing_key"], mandatory=True, timeout=self._settings.publish_timeout
            )
        except DeliveryError:
            # No queue is bound for this key yet (its consumer never started): keep the
            # row and try again later rather than let the broker drop the event.
            log.warning("event %s unroutable (%s); retrying later", row["event_id"], row["routing_key"])
            return False
        return True

    async def _listen(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        self._listener = await asyncpg.connect(self._dsn)
        await self._listener.add_listener(
            notify_channel(self._settings.schema), lambda *_: self._wakeup.set()
        )

    async def pending(self) -> int:
        async with self._pool.acquire() as conn:
            return await conn.fetchval(PENDING_COUNT)

    async def backlog(self) -> tuple[int, float]:
        """(rows waiting, age in seconds of the oldest) — 0 and 0.0 for an empty outbox."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(BACKLOG)
        return row["pending"], row["oldest_age"]

    async def measure_backlog(self) -> None:
        """A scrape hook: put the backlog into the metrics, or drop it if unknown."""
        if self._metrics is None:
            return
        try:
            pending, oldest_age = await self.backlog()
        except BaseException:
            self._metrics.forget_backlog()
            raise
        self._metrics.observe_backlog(pending, oldest_age)
