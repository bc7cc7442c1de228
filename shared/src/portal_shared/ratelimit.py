"""Rate limits kept in PostgreSQL, so every replica of a service counts together.

A limit allows `hits` requests per `window` for one subject (an IP address, an e-mail
key). The owning service creates the table in its own schema:
    rate_limits(key text primary key, window_start timestamptz, hits integer)
Counting is one upsert per request; old windows are overwritten, not accumulated.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from portal_shared.clock import Clock
from portal_shared.problems import Problem, ProblemType

TOO_MANY_ATTEMPTS = ProblemType(
    "too_many_attempts", 429, "Too many attempts",
    "Zu viele Versuche. Bitte warten Sie einen Moment und versuchen Sie es dann erneut.",
    "Too many attempts. Please wait a moment and try again.",
    title_de="Zu viele Versuche",
)



# Per-IP limits count an IPv6 client by its /64, the smallest block a connection gets:
# counting each address would let it send every request from an address of its own.
# A holder of a /56 or /48 still gets 256 or 65 536 buckets; limits per /56 and /48 on
# top would close that, at the price of lumping strangers together on mobile networks.
IPV6_LIMIT_PREFIX = 64


def client_subject(ip: str) -> str:
    """What a per-IP limit counts for the client at `ip`: an IPv4 address as it is (also
    when written IPv4-mapped, ::ffff:a.b.c.d), an IPv6 address as its /64 network."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip  # not an address ("unknown"): counted as given
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_LIMIT_PREFIX), strict=False))
    return str(address)


def too_many_attempts(retry_after: int) -> Problem:
    """The 429 for a used-up limit or a lock: how long to wait goes in `Retry-After`."""
    return Problem(TOO_MANY_ATTEMPTS, headers={"Retry-After": str(retry_after)})


COUNT_HIT = """
INSERT INTO rate_limits AS r (key, window_start, hits) VALUES ($1, $2, 1)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN r.window_start = EXCLUDED.window_start THEN r.hits + 1 ELSE 1 END,
    window_start = EXCLUDED.window_start
RETURNING hits
"""
PURGE_OLD = "DELETE FROM rate_limits WHERE window_start < $1"


@dataclass(frozen=True)
class Limit:
    name: str
    hits: int
    window: timedelta


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = window.total_seconds()
    return datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, UTC)


def retry_after(now: datetime, window: timedelta) -> int:
    """Whole seconds until the current window ends (at least 1), for `Retry-After`."""
    remaining = window_start(now, window) + window - now
    return max(1, math.ceil(remaining.total_seconds()))


class RateLimiter:
    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def hit(
        self, limit: Limit, subject: str, conn: asyncpg.Connection | None = None
    ) -> int | None:
        """Count one request; returns seconds to wait when the limit is exceeded, else None.

        `conn`: count on this connection (inside the caller's transaction) instead of
        taking another one from the pool.
        """
        now = self._clock()
        args = (COUNT_HIT, f"{limit.name}:{subject}", window_start(now, limit.window))
        if conn is not None:
            hits = await conn.fetchval(*args)
        else:
            async with self._pool.acquire() as pooled:
                hits = await pooled.fetchval(*args)
        return retry_after(now, limit.window) if hits > limit.hits else None

    async def purge(self, older_than: datetime) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(PURGE_OLD, older_than)
