"""SQL of the mailer service. Functions take a connection so the caller owns the transaction."""

from __future__ import annotations

import re
from uuid import UUID

from portal_shared.db import Executor

CLAIM_MAIL = """
INSERT INTO processed_events (event_id, template, event_type) VALUES ($1, $2, $3)
ON CONFLICT (event_id, template) DO NOTHING
"""
# The same claim behind BEGIN, as one simple query: asyncpg sends a parameterised query
# on its own, so BEGIN would cost a round trip of its own — a fifth of the replica's
# busy time in the profile (bench/README.md, "Mailer"). Only values that cannot quote
# themselves out are put in: a UUID's canonical text and names matching _NAME.
BEGIN_AND_CLAIM = """
BEGIN;
INSERT INTO processed_events (event_id, template, event_type) VALUES ('{event_id}', '{template}', '{event_type}')
ON CONFLICT (event_id, template) DO NOTHING
"""
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


async def begin_and_claim(conn: Executor, event_id: UUID, template: str, event_type: str) -> bool:
    """Start the transaction that sends the mail, and claim the mail in it: True when
    this transaction recorded it, False when it already was (a duplicate).

    Inside the transaction the new row stays locked until commit, so a concurrent copy
    of the same event waits here and then sees the conflict; if the first copy's
    transaction rolls back (the send failed), the copy claims it instead.
    """
    if _NAME.fullmatch(template) and _NAME.fullmatch(event_type):
        query = BEGIN_AND_CLAIM.format(
            event_id=UUID(str(event_id)), template=template, event_type=event_type
        )
        status = await conn.execute(query)
    else:  # a name we would not put into SQL text: the same in two round trips
        await conn.execute("BEGIN")
        status = await conn.execute(CLAIM_MAIL, event_id, template, event_type)
    return status == "INSERT 0 1"


async def commit(conn: Executor) -> None:
    await conn.execute("COMMIT")


async def rollback(conn: Executor) -> None:
    await conn.execute("ROLLBACK")
