"""The customer master data: what a registration is matched against."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from portal_auth.domain import email
from portal_auth.domain.accounts import Customer
from portal_auth.domain.customer_import import CustomerRow
from portal_shared.db import Executor

FIND_CUSTOMER = """
SELECT customer_number, last_name, email, email_key, registration_code_hash
FROM customers WHERE customer_number = $1
"""
COUNT_CUSTOMERS = "SELECT count(*) FROM customers"
CODE_HASHES = """
SELECT customer_number, registration_code_hash FROM customers
WHERE customer_number = ANY($1::text[]) AND registration_code_hash IS NOT NULL
"""
# An empty e-mail or code (NULL here) keeps what is on file.
UPSERT_CUSTOMERS = """
INSERT INTO customers AS c (customer_number, last_name, email, email_key, registration_code_hash)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
ON CONFLICT (customer_number) DO UPDATE
    SET last_name = EXCLUDED.last_name,
        email = coalesce(EXCLUDED.email, c.email),
        email_key = coalesce(EXCLUDED.email_key, c.email_key),
        registration_code_hash = coalesce(EXCLUDED.registration_code_hash, c.registration_code_hash),
        updated_at = now()
    WHERE (c.last_name, c.email, c.registration_code_hash) IS DISTINCT FROM
          (EXCLUDED.last_name, coalesce(EXCLUDED.email, c.email),
           coalesce(EXCLUDED.registration_code_hash, c.registration_code_hash))
RETURNING (xmax = 0) AS inserted
"""


@dataclass(frozen=True)
class UpsertCounts:
    added: int
    updated: int
    unchanged: int


async def find_customer(conn: Executor, customer_number: str) -> Customer | None:
    row = await conn.fetchrow(FIND_CUSTOMER, customer_number)
    return None if row is None else Customer(**row)


async def count_customers(conn: Executor) -> int:
    return await conn.fetchval(COUNT_CUSTOMERS)


async def code_hashes(conn: Executor, customer_numbers: Sequence[str]) -> dict[str, str]:
    """The code hashes on file of these customers (those that have one)."""
    rows = await conn.fetch(CODE_HASHES, list(customer_numbers))
    return {r["customer_number"]: r["registration_code_hash"] for r in rows}


async def upsert_customers(
    conn: Executor, rows: Sequence[CustomerRow], new_code_hashes: Mapping[str, str] | None = None
) -> UpsertCounts:
    """`new_code_hashes`: customer number → hash of a code that differs from the one on
    file; customers not in it keep theirs."""
    new_code_hashes = new_code_hashes or {}
    returned = await conn.fetch(
        UPSERT_CUSTOMERS,
        [r.customer_number for r in rows],
        [r.last_name for r in rows],
        [r.email for r in rows],
        [email.key(r.email) if r.email else None for r in rows],
        [new_code_hashes.get(r.customer_number) for r in rows],
    )
    added = sum(1 for r in returned if r["inserted"])
    updated = len(returned) - added
    return UpsertCounts(added, updated, len(rows) - added - updated)
