"""SQL of the mailer service. Functions take a connection so the caller owns the transaction."""

from __future__ import annotations

from uuid import UUID

import asyncpg

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

CLAIM_MAIL = """
INSERT INTO processed_events (event_id, template, event_type) VALUES ($1, $2, $3)
ON CONFLICT (event_id, template) DO NOTHING
"""


async def claim_mail(conn: Conn, event_id: UUID, template: str, event_type: str) -> bool:
    """Record this mail of this event as sent; False when it already was (a duplicate).

    Inside the caller's transaction the new row stays locked until commit, so a
    concurrent copy of the same event waits here and then sees the conflict; if the
    first copy's transaction rolls back (the send failed), the copy claims it instead.
    """
    status = await conn.execute(CLAIM_MAIL, event_id, template, event_type)
    return status == "INSERT 0 1"
