"""PostgreSQL access shared by the services: pools pinned to the service's own schema."""

from __future__ import annotations

import asyncpg

Executor = asyncpg.Pool | asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
"""What a repository function runs its SQL on: a pool, or a connection whose transaction
the caller (a use case) owns."""


async def _keep_session_state(conn: asyncpg.Connection) -> None:
    """Pool reset for services that hold no session state (no LISTEN, no session-level
    advisory lock, no SET): asyncpg still rolls back an open transaction, and the
    round trip of `RESET ALL; UNLISTEN *; …` on every release is saved."""


async def create_pool(
    dsn: str, schema: str, application_name: str, min_size: int = 1, max_size: int = 10,
    stateless: bool = False, durable_commits: bool = True,
) -> asyncpg.Pool:
    """A pool whose connections see only `schema` (and `public`) by default.

    Setting `search_path` keeps queries unqualified and makes reading another service's
    tables a visible act instead of an accident.
    """
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={
            "search_path": schema,
            "application_name": application_name,
            **({} if durable_commits else {"synchronous_commit": "off"}),
        },
        reset=_keep_session_state if stateless else None,
    )


async def ping(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")
