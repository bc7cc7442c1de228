"""The record of sent mails, against PostgreSQL: a claim starts the sending transaction
(one round trip), holds until commit, and stores the names exactly as given."""

from __future__ import annotations

import asyncio
import time
from uuid import uuid4

import asyncpg

from portal_mailer.repository import sent_mails as repo


async def connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url, server_settings={"search_path": "mailer"})


async def stored(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
    rows = await conn.fetch("SELECT event_id::text, template, event_type FROM processed_events")
    return sorted((r["event_id"], r["template"], r["event_type"]) for r in rows)


async def test_a_claim_is_kept_only_when_committed(database_url: str) -> None:
    conn = await connect(database_url)
    try:
        committed, rolled_back = uuid4(), uuid4()

        assert await repo.begin_and_claim(conn, committed, "activation", "registration-created")
        assert conn.is_in_transaction()
        await repo.commit(conn)
        assert await repo.begin_and_claim(conn, rolled_back, "activation", "registration-created")
        await repo.rollback(conn)

        assert await stored(conn) == [(str(committed), "activation", "registration-created")]
        assert not await repo.begin_and_claim(conn, committed, "activation", "registration-created")
        await repo.rollback(conn)
    finally:
        await conn.close()


async def test_names_that_could_leave_the_sql_text_are_passed_as_parameters(
    database_url: str,
) -> None:
    conn = await connect(database_url)
    hostile = "x'); DELETE FROM processed_events; --"
    try:
        first = uuid4()
        assert await repo.begin_and_claim(conn, first, "activation", "registration-created")
        await repo.commit(conn)

        second = uuid4()
        assert await repo.begin_and_claim(conn, second, "Activation", hostile)
        await repo.commit(conn)

        assert await stored(conn) == sorted([
            (str(first), "activation", "registration-created"),
            (str(second), "Activation", hostile),
        ])
    finally:
        await conn.close()


async def test_a_second_claim_of_the_same_mail_waits_for_the_first_and_then_loses(
    database_url: str,
) -> None:
    first, second = await connect(database_url), await connect(database_url)
    event_id = uuid4()
    try:
        assert await repo.begin_and_claim(first, event_id, "contact-support", "contact-requested")
        waiting = asyncio.create_task(
            repo.begin_and_claim(second, event_id, "contact-support", "contact-requested")
        )
        # The second claim blocks on the first one's row lock until the first commits.
        await lock_awaited_by(first, second.get_server_pid())
        assert not waiting.done()
        await repo.commit(first)

        assert await waiting is False
        await repo.rollback(second)
    finally:
        await first.close()
        await second.close()


async def lock_awaited_by(conn: asyncpg.Connection, pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    query = "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = $1"
    while not await conn.fetchval(query, pid):
        assert time.monotonic() < deadline, "the second claim never waited for the first"
        await asyncio.sleep(0.01)  # polls a condition, bounded by the deadline
