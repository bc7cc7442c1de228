from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from portal_auth.domain.customer_import import CustomerRow
from portal_auth.repository import Conn

FIND_CUSTOMER = "SELECT customer_number, last_name FROM customers WHERE customer_number = $1"
COUNT_CUSTOMERS = "SELECT count(*) FROM customers"
UPSERT_CUSTOMERS = """
INSERT INTO customers AS c (customer_number, last_name)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (customer_number) DO UPDATE
    SET last_name = EXCLUDED.last_name, updated_at = now()
    WHERE c.last_name IS DISTINCT FROM EXCLUDED.last_name
RETURNING (xmax = 0) AS inserted
"""


@dataclass(frozen=True)
class UpsertCounts:
    added: int
    updated: int
    unchanged: int


async def find_customer(conn: Conn, customer_number: str) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND_CUSTOMER, customer_number)


async def count_customers(conn: Conn) -> int:
    return await conn.fetchval(COUNT_CUSTOMERS)


async def upsert_customers(conn: Conn, rows: Sequence[CustomerRow]) -> UpsertCounts:
    returned = await conn.fetch(
        UPSERT_CUSTOMERS, [r.customer_number for r in rows], [r.last_name for r in rows]
    )
    added = sum(1 for r in returned if r["inserted"])
    updated = len(returned) - added
    return UpsertCounts(added, updated, len(rows) - added - updated)
