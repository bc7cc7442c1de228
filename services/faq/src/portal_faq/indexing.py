"""The search index of this replica, kept in step with the content.

The index is built from the entries when the content listener is connected and rebuilt
after every change: `ResponseCache.invalidate` runs for every `faq_content_changed`
notification, for an edit made through this replica, and when the listener is lost or
back. From the change until the new index is ready (a few milliseconds), and for as long
as the listener is down (a change could be missed), there is no index and searches go to
the database as before. A build that fails (the database away) is retried with back-off.
"""

from __future__ import annotations

import asyncio
import gc
import logging

import asyncpg

from portal_faq.cache import ResponseCache
from portal_faq.domain.search_index import Entry, SearchIndex
from portal_faq.repository import reading as repo

log = logging.getLogger(__name__)

RETRY_DELAY_SECONDS = 1.0
RETRY_DELAY_MAX_SECONDS = 30.0


class SearchIndexHolder:
    def __init__(self, pool: asyncpg.Pool, cache: ResponseCache, enabled: bool = True) -> None:
        self._pool = pool
        self._cache = cache
        self._index: SearchIndex | None = None
        self._generation = 0
        self._rebuild: asyncio.Task[None] | None = None
        self.builds = 0
        self.ready = asyncio.Event()  # set while there is an index
        self._closed = False
        if enabled:
            cache.on_invalidate.append(self.content_changed)

    @property
    def index(self) -> SearchIndex | None:
        """The index of the current content, or None: then search the database."""
        return self._index

    def content_changed(self) -> None:
        """Drop the index at once and build a new one (once the listener is up)."""
        self._generation += 1
        self._index = None
        self.ready.clear()
        if self._rebuild is not None and not self._rebuild.done():
            self._rebuild.cancel()
        if self._closed:  # shutting down: the listener stops after this holder
            return
        # Runs after the caller has finished: `ResponseCache.enable` invalidates first and
        # switches on afterwards.
        self._rebuild = asyncio.get_running_loop().create_task(
            self._build(self._generation), name="faq-search-index"
        )

    async def _build(self, generation: int) -> None:
        delay = RETRY_DELAY_SECONDS
        while True:
            if not self._cache.enabled:
                return  # deaf to changes: an index could go stale unnoticed
            try:
                rows = await repo.list_entries(self._pool)
                entries = [Entry.of(stored) for stored in rows]
                # Stemming a few hundred entries takes a while: not on the event loop.
                index = await asyncio.to_thread(SearchIndex, entries)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - searches use the database meanwhile
                log.warning("building the search index failed: %s: %s", type(exc).__name__, exc)
            # Cancelled by the next change, which starts a build of its own.
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_DELAY_MAX_SECONDS)
        if generation == self._generation and self._cache.enabled:
            self._index = index
            # The index (and all that start-up loaded) lives until the next change: keep
            # it out of the collector's full passes, which otherwise walk it every few
            # thousand requests and stall the event loop for tens of milliseconds.
            gc.freeze()
            self.ready.set()
            self.builds += 1
            log.info("search index built: %d entries", len(index))

    async def close(self) -> None:
        self._closed = True
        if self._rebuild is not None:
            self._rebuild.cancel()
            await asyncio.gather(self._rebuild, return_exceptions=True)
