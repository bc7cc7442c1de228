"""The contact form: a submission is counted against the sender's address, stored, and
handed to the mailer as a `contact-requested` event in the same transaction."""

from __future__ import annotations

from uuid import UUID, uuid4

from portal_faq.config import SCHEMA
from portal_faq.context import FaqContext
from portal_faq.domain.contact import contact_limit
from portal_faq.repository import contacts as repo
from portal_faq.schemas import ContactBody
from portal_shared.events import ContactRequested, new_event
from portal_shared.i18n import Language
from portal_shared.outbox import enqueue
from portal_shared.ratelimit import client_subject


async def submit(
    ctx: FaqContext, body: ContactBody, language: Language, client_ip: str, correlation_id: str
) -> UUID:
    # Only valid submissions count: they are what sends mail.
    await ctx.limit(contact_limit(ctx.settings.contact_max_per_hour), client_subject(client_ip))
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
    async with ctx.pool.acquire() as conn, conn.transaction():
        await repo.insert_contact_request(conn, row)
        await enqueue(conn, event, SCHEMA)
    return row.id
