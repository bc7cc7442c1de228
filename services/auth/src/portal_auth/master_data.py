"""Customer master data: `portal-auth import-customers FILE.csv`.

Registration codes are stored only as argon2id hashes (the password hasher's parameters,
a salt per hash): a copy of the table does not give them away, and guessing one offline
costs what guessing a password does. A code that is already on file is verified rather
than hashed again, so importing the same file twice reports its rows as unchanged.
"""

from __future__ import annotations

import asyncio

import asyncpg

from portal_auth.config import SCHEMA
from portal_auth.domain.customer_import import CustomerRow
from portal_auth.passwords import Passwords
from portal_auth.repository import customers as repo


async def import_customers(
    dsn: str, rows: list[CustomerRow], only_if_empty: bool = False,
    passwords: Passwords | None = None,
) -> repo.UpsertCounts | None:
    """Upsert the rows in one transaction; None when `only_if_empty` and there are customers."""
    hasher = passwords or Passwords()
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        if only_if_empty and await repo.count_customers(conn) > 0:
            return None
        # Hashing takes tens of milliseconds a code: done before the transaction opens.
        new_hashes = await _changed_code_hashes(conn, hasher, rows)
        async with conn.transaction():
            if only_if_empty and await repo.count_customers(conn) > 0:
                return None
            return await repo.upsert_customers(conn, rows, new_hashes)
    finally:
        await conn.close()
        if passwords is None:
            hasher.close()


async def _changed_code_hashes(
    conn: asyncpg.Connection, hasher: Passwords, rows: list[CustomerRow]
) -> dict[str, str]:
    with_code = [r for r in rows if r.registration_code]
    on_file = await repo.code_hashes(conn, [r.customer_number for r in with_code])

    async def new_hash(row: CustomerRow) -> str | None:
        assert row.registration_code is not None
        stored = on_file.get(row.customer_number)
        unchanged = stored is not None and await hasher.verify(stored, row.registration_code)
        # A code hashed with older parameters is hashed again: checking it would take
        # longer than the dummy check of a number without a code, and tell that it has one.
        if unchanged and not hasher.needs_rehash(stored):
            return None
        return await hasher.hash(row.registration_code)

    hashes = await asyncio.gather(*(new_hash(r) for r in with_code))
    return {r.customer_number: h for r, h in zip(with_code, hashes, strict=True) if h is not None}
