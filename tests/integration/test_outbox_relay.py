"""The outbox relay wakes for every committed event, also one committed while it was
busy publishing the batch before: its fallback poll (RelaySettings.poll_interval) is
for a lost notification, not a delay every busy moment adds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg

from portal_shared import outbox
from portal_shared.db import create_pool
from portal_shared.events import Event, RegistrationCreated, new_event
from portal_shared.outbox import OutboxRelay, RelaySettings

POLL_SECONDS = 30.0  # far beyond the deadlines below: only a notification can wake it
DEADLINE_SECONDS = 5.0


class HeldExchange:
    """Records what is published; holds the first publish until `release` is set, so a
    test can commit another event while the relay is inside a batch."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.first_started = asyncio.Event()
        self.release = asyncio.Event()

    async def publish(self, message, routing_key: str, **_: object) -> None:  # type: ignore[no-untyped-def]
        if not self.published:
            self.first_started.set()
            await self.release.wait()
        self.published.append(message.message_id)


async def test_an_event_committed_during_a_batch_is_relayed_without_waiting_for_the_poll(
    database_url: str,
) -> None:
    pool = await create_pool(database_url, "auth", "test-relay")
    relay = OutboxRelay(pool, database_url, RelaySettings("amqp://unused", "unused", "auth",
                                                          poll_interval=POLL_SECONDS))
    exchange = HeldExchange()
    lost = asyncio.Event()
    relaying: asyncio.Task[None] | None = None
    first, second = registration("first@example.de"), registration("second@example.de")
    try:
        await relay._listen()
        await enqueue(pool, first)
        relaying = asyncio.create_task(relay._relay_until_lost(exchange, lost))  # type: ignore[arg-type]
        await asyncio.wait_for(exchange.first_started.wait(), DEADLINE_SECONDS)
        await enqueue(pool, second)  # committed while the first batch is being published
        exchange.release.set()
        async with asyncio.timeout(DEADLINE_SECONDS):
            while len(exchange.published) < 2:
                await asyncio.sleep(0.01)
        assert exchange.published == [str(first.event_id), str(second.event_id)]
    finally:
        lost.set()
        exchange.release.set()
        if relaying is not None:
            relaying.cancel()
        await relay.stop()
        await pool.close()


def registration(email: str) -> Event:
    return new_event(RegistrationCreated(
        account_id=uuid4(), customer_number="10001", email=email, last_name="Mustermann",
        activation_token=uuid4().hex, expires_at=datetime.now(UTC) + timedelta(hours=24),
    ), correlation_id="test")


async def enqueue(pool: asyncpg.Pool, event: Event) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, event, "auth")
