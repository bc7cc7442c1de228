"""Contact requests."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from portal_shared.db import Executor

INSERT_CONTACT_REQUEST = """
INSERT INTO contact_requests (
    id, name, email, customer_number, subject, message, locale, client_ip, correlation_id
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""


@dataclass(frozen=True)
class ContactRequestRow:
    id: UUID
    name: str
    email: str
    customer_number: str | None
    subject: str
    message: str
    locale: str
    client_ip: str
    correlation_id: str


async def insert_contact_request(conn: Executor, row: ContactRequestRow) -> None:
    await conn.execute(
        INSERT_CONTACT_REQUEST, row.id, row.name, row.email, row.customer_number, row.subject,
        row.message, row.locale, row.client_ip, row.correlation_id,
    )
