"""`AMQP_QUORUM_REPLICAS` sets a quorum queue's members when it is created, and never
keeps the mailer from starting on a broker whose queues were created otherwise.

RabbitMQ compares `x-quorum-initial-group-size` on every declaration although it uses it
only at creation (tried against 3.10: "inequivalent arg 'x-quorum-initial-group-size'
... received none but current is the value '3'", and the reverse). On one node a count
of 3 is capped to one member, which every other test here runs on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection
from aio_pika.exceptions import ChannelPreconditionFailed

from portal_mailer.config import MailerSettings
from portal_mailer.topology import (
    DELIVERY_LIMIT,
    QUORUM,
    REPLICAS,
    SAFE_DEAD_LETTERING,
    declare_topology,
    owned_queue_names,
)
from portal_shared.topology import MAILER_ROUTING_KEYS
from tests.conftest import AmqpNames

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(amqp_names: AmqpNames) -> MailerSettings:
    return MailerSettings(
        amqp_url=amqp_names.url,
        events_exchange=amqp_names.exchange,
        dead_letter_exchange=amqp_names.dead_letter_exchange,
        mailer_queue=amqp_names.mailer_queue,
        mailer_dead_letter_queue=amqp_names.mailer_dead_letter_queue,
    )


@pytest.fixture
async def connection(amqp_names: AmqpNames) -> AsyncIterator[AbstractConnection]:
    connection = await aio_pika.connect(amqp_names.url)
    async with connection:
        yield connection


def mailer_queue_arguments(settings: MailerSettings) -> dict:
    return {
        **QUORUM, **SAFE_DEAD_LETTERING,
        "x-dead-letter-exchange": settings.dead_letter_exchange,
        "x-dead-letter-routing-key": settings.mailer_queue,
        "x-delivery-limit": DELIVERY_LIMIT,
    }


async def declared(connection: AbstractConnection, name: str, arguments: dict) -> bool:
    """Whether the broker accepts this declaration (a refusal closes only this channel)."""
    channel = await connection.channel()
    try:
        await channel.declare_queue(name, durable=True, arguments=arguments)
    except ChannelPreconditionFailed:
        return False
    await channel.close()
    return True


async def usable(channel: AbstractChannel, settings: MailerSettings) -> None:
    """The topology works on the channel it was declared with: a message goes round."""
    topology = await declare_topology(channel, settings)
    exchange = await channel.get_exchange(settings.events_exchange)
    await exchange.publish(aio_pika.Message(b"{}"), routing_key=MAILER_ROUTING_KEYS[0])
    message = await topology.queue.get(timeout=5, fail=False)
    assert message is not None
    await message.ack()


async def test_new_queues_are_created_with_the_replica_count(
    connection: AbstractConnection, settings: MailerSettings
) -> None:
    await usable(await connection.channel(), settings.model_copy(update={"amqp_quorum_replicas": 3}))

    arguments = mailer_queue_arguments(settings)
    assert await declared(connection, settings.mailer_queue, {**arguments, REPLICAS: 3})
    assert not await declared(connection, settings.mailer_queue, arguments)
    assert not await declared(connection, settings.mailer_queue, {**arguments, REPLICAS: 5})


async def test_queues_from_before_the_setting_are_kept(
    connection: AbstractConnection, settings: MailerSettings
) -> None:
    assert await declared(connection, settings.mailer_queue, mailer_queue_arguments(settings))

    await usable(await connection.channel(), settings)

    assert not await declared(connection, settings.mailer_queue, {**mailer_queue_arguments(settings), REPLICAS: 3})


async def test_queues_created_with_another_count_are_kept(
    connection: AbstractConnection, settings: MailerSettings
) -> None:
    await usable(await connection.channel(), settings.model_copy(update={"amqp_quorum_replicas": 5}))

    await usable(await connection.channel(), settings.model_copy(update={"amqp_quorum_replicas": 3}))

    assert await declared(connection, settings.mailer_queue, {**mailer_queue_arguments(settings), REPLICAS: 5})


async def test_any_other_difference_still_stops_the_declaration(
    connection: AbstractConnection, settings: MailerSettings
) -> None:
    other_limit = {**mailer_queue_arguments(settings), "x-delivery-limit": DELIVERY_LIMIT + 1}
    assert await declared(connection, settings.mailer_queue, other_limit)

    with pytest.raises(ChannelPreconditionFailed, match="x-delivery-limit"):
        await declare_topology(await connection.channel(), settings)


def test_every_owned_queue_is_a_quorum_queue_with_replicas(settings: MailerSettings) -> None:
    assert settings.amqp_quorum_replicas == 3
    assert len(owned_queue_names(settings)) == 2 + len(set(settings.mailer_retry_delays_seconds))
