"""The contact form: a submission is counted against the sender's address, stored, and
handed to the mailer as a `contact-requested` event in the same transaction."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg

from portal_faq.config import SCHEMA
from portal_faq.domain.contact import contact_limit
from portal_faq.repository import contacts as repo
from portal_faq.schemas import ContactBody
from portal_shared.events import ContactRequested, new_event
from portal_shared.i18n import Language
from portal_shared.outbox import enqueue
from portal_shared.ratelimit import RateLimiter, too_many_attempts


class Contacts:
    def __init__(self, pool: asyncpg.Pool, limiter: RateLimiter, per_hour: int) -> None:
        self._pool = pool
        self._limiter = limiter
        self._limit = contact_limit(per_hour)

    async def submit(
        self, body: ContactBody, language: Language, client_ip: str, correlation_id: str
    ) -> UUID:
        # Only valid submissions count: they are what sends mail.
        wait = await self._limiter.hit(self._limit, client_ip)
        if wait is not None:
            raise too_many_attempts(wait)
        row = repo.ContactRequestRow(
            id=uuid4(),
            name=body.name,
            email=body.email,
            customer_number=body.customer_number,
            subject=body.subject,
            message=body.message,
            locale=body.locale or language,
            client_ip=client_ip,
            correlation_id=correlation_id,
        )
        event = new_event(
            ContactRequested(
                contact_id=row.id,
                name=row.name,
                email=row.email,
                customer_number=row.customer_number,
                subject=row.subject,
                message=row.message,
                locale=row.locale,
            ),
            correlation_id,
        )
        async with self._pool.acquire() as conn, conn.transaction():
            await repo.insert_contact_request(conn, row)
            await enqueue(conn, event, SCHEMA)
        return row.id
