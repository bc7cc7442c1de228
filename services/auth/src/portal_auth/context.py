"""What every use case works with, built once per application."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from portal_auth.access_tokens import AccessTokens
from portal_auth.challenges import Challenges
from portal_auth.config import AuthSettings
from portal_auth.domain.errors import TooManyAttempts
from portal_auth.passwords import Passwords
from portal_shared.clock import Clock
from portal_shared.ratelimit import Limit, RateLimiter, client_subject


@dataclass(frozen=True)
class Caller:
    """Who is asking: for the audit log, rate limits and the events' correlation id; the
    User-Agent for the customer's list of devices."""

    ip: str
    correlation_id: str
    user_agent: str = ""

    @property
    def network(self) -> str:
        """What per-IP limits and locks count: the address, an IPv6 one by its /64."""
        return client_subject(self.ip)


@dataclass(frozen=True)
class AuthContext:
    pool: asyncpg.Pool
    passwords: Passwords
    access_tokens: AccessTokens
    settings: AuthSettings
    clock: Clock
    limiter: RateLimiter
    challenges: Challenges

    async def limit(self, limit: Limit, subject: str) -> None:
        """Count a request against `limit`; `TooManyAttempts` once it is used up."""
        wait = await self.limiter.hit(limit, subject)
        if wait is not None:
            raise TooManyAttempts(wait)

    async def within(self, limit: Limit, subject: str, conn: asyncpg.Connection) -> bool:
        """Count a request against `limit` in the caller's transaction; False once it is
        used up (for limits kept quietly: the caller answers alike and does less)."""
        return await self.limiter.hit(limit, subject, conn) is None
