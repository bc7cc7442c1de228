"""RabbitMQ helpers shared by producers and consumers."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange


async def declare_events_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    """The portal's topic exchange; same arguments everywhere, so declaring is idempotent."""
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
