"""Plain-SQL migrations, applied in file-name order, each once, each in a transaction.

Every service keeps its migrations in `<package>/migrations/NNNN_name.sql` and its tables
in its own schema; the record of what ran lives in `<schema>.schema_migrations`. An
advisory lock makes concurrent `migrate` runs (several replicas starting) wait for
each other instead of racing.
"""

from __future__ import annotations

import logging
from importlib.resources import files
from importlib.resources.abc import Traversable

import asyncpg

log = logging.getLogger(__name__)


def migration_files(package: str) -> list[Traversable]:
    folder = files(package) / "migrations"
    return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


async def migrate(dsn: str, schema: str, package: str) -> list[str]:
    """Apply the pending migrations of `package` to `schema`; returns the names applied."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{schema}")
        try:
            return await _apply_pending(conn, schema, package)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrate:{schema}")
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection, schema: str, package: str) -> list[str]:
    quoted = _quote_ident(schema)
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {quoted}.schema_migrations ("
        " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    done = {r["version"] for r in await conn.fetch(f"SELECT version FROM {quoted}.schema_migrations")}
    applied = []
    for migration in migration_files(package):
        if migration.name in done:
            continue
        async with conn.transaction():
            await conn.execute(f"SET LOCAL search_path TO {quoted}")
            await conn.execute(migration.read_text(encoding="utf-8"))
            await conn.execute(
                f"INSERT INTO {quoted}.schema_migrations (version) VALUES ($1)", migration.name
            )
        log.info("applied migration %s.%s", schema, migration.name)
        applied.append(migration.name)
    return applied


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
