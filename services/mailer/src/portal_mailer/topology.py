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

Replicas: each quorum queue is created with `AMQP_QUORUM_REPLICAS` members
(`x-quorum-initial-group-size`; RabbitMQ caps it at the cluster's size). The broker uses
that argument only at creation but compares it on every later declaration, so a queue
created before the setting existed, or with another value, would refuse the mailer's
declaration (PRECONDITION_FAILED). `declare_quorum_queue` therefore accepts a queue whose
replica count differs, and still fails on any other difference it can see.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue
from aio_pika.exceptions import ChannelPreconditionFailed

from portal_mailer.config import MailerSettings
from portal_shared.amqp import declare_events_exchange
from portal_shared.topology import MAILER_ROUTING_KEYS

QUORUM = {"x-queue-type": "quorum"}
# Broker-side dead-lettering that waits for the target queue to confirm.
SAFE_DEAD_LETTERING = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
# Redeliveries without an outcome before the broker dead-letters a message. Our own
# retries do not count (each is a new message); only crashes and lost connections do.
DELIVERY_LIMIT = 20
REPLICAS = "x-quorum-initial-group-size"

log = logging.getLogger(__name__)


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

    replicas = settings.amqp_quorum_replicas
    dead_letter_queue = await declare_quorum_queue(channel, settings.mailer_dead_letter_queue, QUORUM, replicas)
    await dead_letter_queue.bind(dead_letters, dead_letter_key)

    queue = await declare_quorum_queue(channel, settings.mailer_queue, {
        **QUORUM,
        **SAFE_DEAD_LETTERING,
        "x-dead-letter-exchange": settings.dead_letter_exchange,
        "x-dead-letter-routing-key": dead_letter_key,
        "x-delivery-limit": DELIVERY_LIMIT,
    }, replicas)
    for routing_key in MAILER_ROUTING_KEYS:
        await queue.bind(events, routing_key)

    retry_queues = {}
    for delay in sorted(set(settings.mailer_retry_delays_seconds)):
        name = retry_queue_name(settings.mailer_queue, delay)
        await declare_quorum_queue(channel, name, {
            **QUORUM,
            **SAFE_DEAD_LETTERING,
            "x-message-ttl": round(delay * 1000),
            "x-dead-letter-exchange": "",  # the default exchange: routes by queue name
            "x-dead-letter-routing-key": settings.mailer_queue,
        }, replicas)
        retry_queues[delay] = name
    return MailerTopology(queue, dead_letter_key, retry_queues)


async def declare_quorum_queue(
    channel: AbstractChannel, name: str, arguments: dict, replicas: int
) -> AbstractQueue:
    """Declare a durable quorum queue: created with `replicas` members, an existing one
    kept with the members it has.

    A refused declaration closes its channel, so the attempts run on channels of their
    own: with the replica count, then without it (a queue from before the setting, whose
    other arguments are still compared). A queue refusing both was created with another
    replica count, i.e. by a mailer with this setting, and is taken as it is (RabbitMQ
    names only the first differing argument, so the others go unchecked in that case).
    """
    connection = (await channel.get_underlay_channel()).connection
    for candidate in ({**arguments, REPLICAS: replicas}, arguments):
        attempt = await connection.channel()
        try:
            await attempt.queue_declare(name, durable=True, arguments=candidate)
        except ChannelPreconditionFailed as refused:
            if f"'{REPLICAS}'" not in str(refused):
                raise
            continue
        await attempt.close()
        break
    else:
        log.info(
            "queue %s keeps the replica count it was created with (AMQP_QUORUM_REPLICAS=%d "
            "applies to new queues; rabbitmq-queues grow/shrink change members)", name, replicas,
        )
    return await channel.declare_queue(name, passive=True)


def owned_queue_names(settings: MailerSettings) -> list[str]:
    """Every queue `declare_topology` creates, e.g. for tools and tests that clean up."""
    retry = [
        retry_queue_name(settings.mailer_queue, delay)
        for delay in sorted(set(settings.mailer_retry_delays_seconds))
    ]
    return [settings.mailer_queue, settings.mailer_dead_letter_queue, *retry]
