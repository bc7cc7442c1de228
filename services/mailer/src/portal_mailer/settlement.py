"""How a message leaves the mailer's hands: acknowledged, delayed for a retry, or dead-lettered.

The consumer applies each handler outcome through these. Delaying and dead-lettering
publish a copy first (`copies`), with publisher confirms and `mandatory`, and acknowledge
the original only once the broker has taken the copy; if publishing fails the original
is not acknowledged, and the broker redelivers it. So a message is never lost between
two queues, at worst it is handled once more, which the mailer's record of sent mails
makes harmless.
"""

from __future__ import annotations

from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage

from portal_mailer.copies import dead_letter_copy, retry_copy
from portal_mailer.topology import MailerTopology

PUBLISH_TIMEOUT_SECONDS = 10.0


class Settlement:
    def __init__(
        self, publisher: AbstractChannel, topology: MailerTopology, dead_letters: AbstractExchange
    ) -> None:
        self._publisher = publisher  # a channel in confirm mode
        self._topology = topology
        self._dead_letters = dead_letters

    async def retry_later(
        self, message: AbstractIncomingMessage, delay: float, attempts: int, detail: str
    ) -> None:
        """Park a copy in the delay queue for `delay`; it comes back as attempt attempts+1."""
        await self._publisher.default_exchange.publish(
            retry_copy(message, attempts, detail), self._topology.retry_queues[delay],
            mandatory=True, timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        await message.ack()

    async def dead_letter(
        self,
        message: AbstractIncomingMessage,
        reason: str,
        detail: str,
        template: str,
        attempts: int,
    ) -> None:
        await self._dead_letters.publish(
            dead_letter_copy(message, reason, detail, template, attempts),
            self._topology.dead_letter_routing_key,
            mandatory=True,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        await message.ack()
