"""SQL of the mailer service. Functions take a connection so the caller owns the transaction."""

from __future__ import annotations

from uuid import UUID

import asyncpg

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

CLAIM_EVENT = """
INSERT INTO processed_events (event_id, event_type, template) VALUES ($1, $2, $3)
ON CONFLICT (event_id) DO NOTHING
"""


async def claim_event(conn: Conn, event_id: UUID, event_type: str, template: str) -> bool:
    """Record the event as mailed; False when it already was (a redelivered duplicate).

    Inside the caller's transaction the new row stays locked until commit, so a
    concurrent copy of the same event waits here and then sees the conflict.
    """
    status = await conn.execute(CLAIM_EVENT, event_id, event_type, template)
    return status == "INSERT 0 1"
