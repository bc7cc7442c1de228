"""What every FAQ use case works with, built once per application (`app._context`) and
kept in one frozen object under `keys.CONTEXT`."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from portal_faq.access import SessionCheck, TokenVerifier
from portal_faq.cache import ContentWatcher, ResponseCache
from portal_faq.config import FaqSettings
from portal_faq.domain.errors import TooManyRequests
from portal_faq.indexing import SearchIndexHolder
from portal_shared.clock import Clock
from portal_shared.ratelimit import Limit, RateLimiter


@dataclass(frozen=True)
class FaqContext:
    settings: FaqSettings
    pool: asyncpg.Pool
    clock: Clock
    # Reading: rendered answers until the content changes, the watcher that tells, and
    # the search index that follows the cache.
    cache: ResponseCache
    watcher: ContentWatcher
    search_index: SearchIndexHolder
    # Editing: editors' access tokens and their session, both checked against auth.
    tokens: TokenVerifier
    sessions: SessionCheck
    limiter: RateLimiter

    async def limit(self, limit: Limit, subject: str) -> None:
        """Count a request against `limit`; TooManyRequests once it is used up."""
        wait = await self.limiter.hit(limit, subject)
        if wait is not None:
            raise TooManyRequests(wait)
