"""Failed-attempt counters, attack notices and the audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from portal_auth.domain.throttling import FailureCount
from portal_shared.db import Executor

FIND_LOCKS = "SELECT locked_until FROM login_failures WHERE key = ANY($1::text[])"
FIND_COUNTS = """
SELECT key, failures, last_failure_at, locked_until FROM login_failures WHERE key = ANY($1::text[])
"""
RECORD_FAILURE = """
INSERT INTO login_failures AS f (key, failures, last_failure_at, locked_until)
VALUES ($1, 1, $2, NULL)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN f.last_failure_at < $3 THEN 1 ELSE f.failures + 1 END,
    last_failure_at = $2
RETURNING failures
"""
UNCOUNT = "UPDATE login_failures SET failures = failures - 1 WHERE key = $1 AND failures > 0"
CLAIM_NOTICE = """
INSERT INTO attack_notices AS n (account_id, notified_at) VALUES ($1, $2)
ON CONFLICT (account_id) DO UPDATE SET notified_at = EXCLUDED.notified_at
    WHERE n.notified_at < $3
RETURNING 1
"""
SET_LOCK = "UPDATE login_failures SET locked_until = $2 WHERE key = $1"
CLEAR = "DELETE FROM login_failures WHERE key = $1"
PURGE_FAILURES = "DELETE FROM login_failures WHERE last_failure_at < $1 AND (locked_until IS NULL OR locked_until < $1)"
AUDIT = """
INSERT INTO audit_log (occurred_at, action, account_id, customer_number, ip, detail)
VALUES ($1, $2, $3, $4, $5, $6::jsonb)
"""


async def locked_until(conn: Executor, keys: list[str]) -> list[datetime | None]:
    """When the locks on these keys end (None: counted, not locked)."""
    return [r["locked_until"] for r in await conn.fetch(FIND_LOCKS, keys)]


async def counts(conn: Executor, keys: list[str]) -> dict[str, FailureCount]:
    """What is on file for these keys (one round trip for a login's IP and target)."""
    return {
        r["key"]: FailureCount(r["failures"], r["last_failure_at"], r["locked_until"])
        for r in await conn.fetch(FIND_COUNTS, keys)
    }


async def record_failure(conn: Executor, key: str, now: datetime, forget_before: datetime) -> int:
    """Count a failure; a count older than `forget_before` starts again at one."""
    return await conn.fetchval(RECORD_FAILURE, key, now, forget_before)


async def uncount(conn: Executor, key: str) -> None:
    """Take back one counted failure (an attempt reserved that turned out not to be one)."""
    await conn.execute(UNCOUNT, key)


async def claim_attack_notice(conn: Executor, account_id: UUID, now: datetime, not_since: datetime) -> bool:
    """True (and remembered) when the owner was not told since `not_since`."""
    return await conn.fetchval(CLAIM_NOTICE, account_id, now, not_since) is not None


async def lock(conn: Executor, key: str, until: datetime) -> None:
    await conn.execute(SET_LOCK, key, until)


async def clear(conn: Executor, key: str) -> None:
    await conn.execute(CLEAR, key)


async def purge_failures(conn: Executor, before: datetime) -> None:
    await conn.execute(PURGE_FAILURES, before)


async def audit(
    conn: Executor, now: datetime, action: str, ip: str | None, account_id: UUID | None = None,
    customer_number: str | None = None, **detail: Any,
) -> None:
    await conn.execute(AUDIT, now, action, account_id, customer_number, ip, json.dumps(detail))
