"""The RabbitMQ objects the mailer owns, declared at every start (declaring is idempotent).

    events exchange (topic) --MAILER_ROUTING_KEYS--> mailer queue (quorum)
    mailer queue --rejected / dead-lettered--> dead-letter exchange (direct)
    dead-letter exchange --<mailer queue name>--> mailer dead-letter queue (quorum)

The dead-letter exchange is direct and every dead letter carries the mailer queue's name
as its routing key, so other services can bind their own dead-letter queues to the same
exchange without receiving the mailer's failures.

Retry seam: a delayed retry path (delay queues with growing TTLs that dead-letter back
into the mailer queue) belongs here; until then transient failures are requeued by the
consumer after a short pause.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from portal_mailer.config import MailerSettings
from portal_shared.amqp import declare_events_exchange
from portal_shared.topology import MAILER_ROUTING_KEYS

QUORUM = {"x-queue-type": "quorum"}


@dataclass(frozen=True)
class MailerTopology:
    queue: AbstractQueue
    dead_letter_exchange: AbstractExchange
    dead_letter_routing_key: str


async def declare_topology(channel: AbstractChannel, settings: MailerSettings) -> MailerTopology:
    events = await declare_events_exchange(channel, settings.events_exchange)
    dead_letters = await channel.declare_exchange(
        settings.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    dead_letter_key = settings.mailer_queue

    dead_letter_queue = await channel.declare_queue(
        settings.mailer_dead_letter_queue, durable=True, arguments=QUORUM
    )
    await dead_letter_queue.bind(dead_letters, dead_letter_key)

    queue = await channel.declare_queue(
        settings.mailer_queue,
        durable=True,
        arguments={
            **QUORUM,
            "x-dead-letter-exchange": settings.dead_letter_exchange,
            "x-dead-letter-routing-key": dead_letter_key,
        },
    )
    for routing_key in MAILER_ROUTING_KEYS:
        await queue.bind(events, routing_key)
    return MailerTopology(queue, dead_letters, dead_letter_key)
