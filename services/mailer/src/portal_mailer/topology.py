"""The RabbitMQ objects the mailer owns, declared at every start (declaring is idempotent).

    events exchange (topic) --MAILER_ROUTING_KEYS--> mailer queue (quorum)
    mailer queue --published by the mailer after a transient failure-->
        <mailer queue>.retry.<n>ms (quorum, TTL n ms) --expired--> mailer queue
    mailer queue --dead letters--> dead-letter exchange (direct)
        --<mailer queue name>--> mailer dead-letter queue (quorum)

Retries: the consumer publishes a copy to the delay queue of the pause it wants (with
publisher confirms) and only then acknowledges the original, so no worker slot waits.
A delay queue has no consumer; its messages expire after its TTL and are dead-lettered
through the default exchange straight back into the mailer queue. Dead-lettering there
is `at-least-once` (the broker keeps the message until the mailer queue has it), which
RabbitMQ allows only together with `reject-publish` overflow.

Dead letters: the consumer publishes those itself, with the reason in headers (see
`dead_letters`). The broker dead-letters only what the consumer never settles: a message
that has been delivered `DELIVERY_LIMIT` times without an outcome (a process that dies
on it each time) leaves the queue instead of crash-looping every replica.

The dead-letter exchange is direct and every dead letter carries the mailer queue's name
as its routing key, so other services can bind their own dead-letter queues to the same
exchange without receiving the mailer's failures.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue

from portal_mailer.config import MailerSettings
from portal_shared.amqp import declare_events_exchange
from portal_shared.topology import MAILER_ROUTING_KEYS

QUORUM = {"x-queue-type": "quorum"}
# Broker-side dead-lettering that waits for the target queue to confirm.
SAFE_DEAD_LETTERING = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
# Redeliveries without an outcome before the broker dead-letters a message. Our own
# retries do not count (each is a new message); only crashes and lost connections do.
DELIVERY_LIMIT = 20


@dataclass(frozen=True)
class MailerTopology:
    queue: AbstractQueue
    dead_letter_routing_key: str
    retry_queues: dict[float, str]  # pause in seconds -> name of its delay queue


def retry_queue_name(queue: str, delay_seconds: float) -> str:
    return f"{queue}.retry.{round(delay_seconds * 1000)}ms"


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
            **SAFE_DEAD_LETTERING,
            "x-dead-letter-exchange": settings.dead_letter_exchange,
            "x-dead-letter-routing-key": dead_letter_key,
            "x-delivery-limit": DELIVERY_LIMIT,
        },
    )
    for routing_key in MAILER_ROUTING_KEYS:
        await queue.bind(events, routing_key)

    retry_queues = {}
    for delay in sorted(set(settings.mailer_retry_delays_seconds)):
        name = retry_queue_name(settings.mailer_queue, delay)
        await channel.declare_queue(
            name,
            durable=True,
            arguments={
                **QUORUM,
                **SAFE_DEAD_LETTERING,
                "x-message-ttl": round(delay * 1000),
                "x-dead-letter-exchange": "",  # the default exchange: routes by queue name
                "x-dead-letter-routing-key": settings.mailer_queue,
            },
        )
        retry_queues[delay] = name
    return MailerTopology(queue, dead_letter_key, retry_queues)


def owned_queue_names(settings: MailerSettings) -> list[str]:
    """Every queue `declare_topology` creates, e.g. for tools and tests that clean up."""
    retry = [
        retry_queue_name(settings.mailer_queue, delay)
        for delay in sorted(set(settings.mailer_retry_delays_seconds))
    ]
    return [settings.mailer_queue, settings.mailer_dead_letter_queue, *retry]
