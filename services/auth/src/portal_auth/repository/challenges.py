"""Spent proof-of-work challenges (single use until they expire)."""

from __future__ import annotations

from datetime import datetime

from portal_shared.db import Executor

SPEND = """
INSERT INTO used_challenges (challenge, expires_at) VALUES ($1, $2)
ON CONFLICT (challenge) DO NOTHING
RETURNING 1
"""
PURGE = "DELETE FROM used_challenges WHERE expires_at < $1"


async def spend(conn: Executor, challenge: str, expires_at: datetime) -> bool:
    """Mark a solved challenge as used; False when it had been used before."""
    return await conn.fetchval(SPEND, challenge, expires_at) is not None


async def purge(conn: Executor, now: datetime) -> None:
    await conn.execute(PURGE, now)
