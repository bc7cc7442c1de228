"""The copies of a message the mailer publishes, and the headers they carry.

A copy is the original body, unchanged, with headers saying where the event was first
published and what happened to it:
- a retry copy (`retry_copy`) goes to a delay queue and carries the attempts made;
- a dead letter (`dead_letter_copy`) carries the reason, a detail and the template;
- a replay copy (`replay_copy`, the operator's `dead-letters replay`) starts afresh.
The broker writes some dead letters itself (a message redelivered too often, see
`topology.DELIVERY_LIMIT`); those carry its `x-death` header instead, which
`original_route` and `dead_letters.describe` read as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from portal_mailer.domain.retry import ATTEMPTS_HEADER

REASON_HEADER = "x-death-reason"
DETAIL_HEADER = "x-death-detail"
TEMPLATE_HEADER = "x-mailer-template"
LAST_FAILURE_HEADER = "x-mailer-last-failure"
ORIGINAL_EXCHANGE_HEADER = "x-original-exchange"
ORIGINAL_ROUTING_KEY_HEADER = "x-original-routing-key"
DETAIL_MAX_CHARS = 200


def retry_copy(message: AbstractIncomingMessage, attempts: int, detail: str) -> aio_pika.Message:
    """For a delay queue: it comes back as attempt attempts+1."""
    return aio_pika.Message(
        message.body,
        headers={
            ATTEMPTS_HEADER: attempts,
            LAST_FAILURE_HEADER: detail[:DETAIL_MAX_CHARS],
            **original_route(message),
        },
        content_type=message.content_type,
        message_id=message.message_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def dead_letter_copy(
    message: AbstractIncomingMessage, reason: str, detail: str, template: str, attempts: int
) -> aio_pika.Message:
    return aio_pika.Message(
        message.body,
        headers={
            REASON_HEADER: reason,
            DETAIL_HEADER: detail[:DETAIL_MAX_CHARS],
            TEMPLATE_HEADER: template,
            ATTEMPTS_HEADER: attempts,
            **original_route(message),
        },
        content_type=message.content_type,
        message_id=message.message_id,
        timestamp=datetime.now(UTC),
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def replay_copy(message: AbstractIncomingMessage) -> aio_pika.Message:
    """Back to the mailer queue with a fresh attempt count: replaying means the cause
    was fixed."""
    return aio_pika.Message(
        message.body,
        headers=original_route(message),
        content_type=message.content_type,
        message_id=message.message_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def original_route(message: AbstractIncomingMessage) -> dict[str, str]:
    """Where the event was first published: kept across retries, which reroute it."""
    headers = message.headers or {}
    death = first_broker_death(headers)
    death_keys = death.get("routing-keys")
    exchange = headers.get(ORIGINAL_EXCHANGE_HEADER, death.get("exchange", message.exchange))
    routing_key = headers.get(
        ORIGINAL_ROUTING_KEY_HEADER,
        death_keys[0] if isinstance(death_keys, list) and death_keys else message.routing_key,
    )
    return {
        ORIGINAL_EXCHANGE_HEADER: str(exchange or ""),
        ORIGINAL_ROUTING_KEY_HEADER: str(routing_key or ""),
    }


def first_broker_death(headers: Mapping[str, object]) -> Mapping[str, object]:
    """The newest entry of the broker's `x-death` header; empty when it wrote none."""
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        return deaths[0]
    return {}
