"""The operator's commands to list and replay dead letters (`portal-mailer dead-letters`).

What a dead letter carries is `copies`' business: the consumer writes them, and the
broker writes some itself (with its `x-death` header), which `describe` reads as well.

`list_dead_letters` and `replay` take every message off the dead-letter queue without
acknowledging it, look at the headers only, and then either give it back (rejected with
requeue, so it stays) or, for replay, publish it to the mailer queue with confirms and
only then acknowledge it. Nothing here prints or logs a body: bodies hold tokens and
addresses.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from portal_mailer.config import MailerSettings
from portal_mailer.copies import DETAIL_HEADER, REASON_HEADER, first_broker_death, replay_copy

CONNECT_TIMEOUT_SECONDS = 10.0


# --- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    id: str
    event_type: str
    reason: str
    detail: str
    dead_lettered_at: datetime | None


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    death = first_broker_death(headers)
    reason = headers.get(REASON_HEADER) or death.get("reason") or "unknown"
    when = message.timestamp or death.get("time")
    return DeadLetter(
        id=message.message_id or _event_field(message.body, "event_id") or "-",
        event_type=_event_field(message.body, "event_type") or "-",
        reason=str(reason),
        detail=str(headers.get(DETAIL_HEADER, "")),
        dead_lettered_at=when if isinstance(when, datetime) else None,
    )


def _event_field(body: bytes, name: str) -> str | None:
    """One envelope field of a body that may not be JSON at all; never the payload."""
    try:
        value = json.loads(body).get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and len(value) <= 100 else None


def format_table(letters: list[DeadLetter]) -> str:
    header = ("ID", "EVENT TYPE", "REASON", "DEAD-LETTERED AT")
    rows = [header] + [
        (
            letter.id,
            letter.event_type,
            letter.reason,
            letter.dead_lettered_at.isoformat(timespec="seconds") if letter.dead_lettered_at else "-",
        )
        for letter in letters
    ]
    details = ["DETAIL"] + [letter.detail for letter in letters]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + "  " + detail
        for row, detail in zip(rows, details, strict=True)
    ]
    return "\n".join(line.rstrip() for line in lines)


# --- the commands --------------------------------------------------------------------


async def list_dead_letters(settings: MailerSettings) -> list[DeadLetter]:
    connection = await aio_pika.connect(settings.amqp_url, timeout=CONNECT_TIMEOUT_SECONDS)
    async with connection:
        channel = await connection.channel()
        held = await _take_all(channel, settings.mailer_dead_letter_queue)
        letters = [describe(message) for message in held]
        for message in held:
            await message.reject(requeue=True)
    return letters


@dataclass(frozen=True)
class ReplayResult:
    replayed: list[str]
    missing: list[str]  # ids asked for that are not in the dead-letter queue


async def replay(settings: MailerSettings, ids: Collection[str] | None = None) -> ReplayResult:
    """Move dead letters (all, or those with the given ids) back to the mailer queue.

    The copy starts with a fresh attempt count: replaying means the cause was fixed.
    """
    connection = await aio_pika.connect(settings.amqp_url, timeout=CONNECT_TIMEOUT_SECONDS)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        held = await _take_all(channel, settings.mailer_dead_letter_queue)
        replayed: list[str] = []
        for message in held:
            letter = describe(message)
            if ids is not None and letter.id not in ids:
                await message.reject(requeue=True)
                continue
            # Straight into the mailer queue by its name; confirmed before the ack.
            await channel.default_exchange.publish(
                replay_copy(message), settings.mailer_queue, mandatory=True
            )
            await message.ack()
            replayed.append(letter.id)
    missing = sorted(set(ids or ()) - set(replayed))
    return ReplayResult(replayed, missing)


async def _take_all(channel: AbstractChannel, queue_name: str) -> list[AbstractIncomingMessage]:
    """Every message of the queue, held unacknowledged (so each is seen once)."""
    queue = await channel.declare_queue(queue_name, passive=True)
    held = []
    while (message := await queue.get(no_ack=False, fail=False)) is not None:
        held.append(message)
    return held
