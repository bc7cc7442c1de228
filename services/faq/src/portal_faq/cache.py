"""Rendered answers kept in memory until the content changes.

`ResponseCache` holds the finished bytes of each read answer (the FAQ per language, an
entry, a search), so a repeated read touches neither the database nor the JSON encoder.
`ContentWatcher` keeps one connection LISTENing on the channel that the tables' triggers
notify (migrations/0003_editing.sql); every change, made by any replica or by
`portal-faq import`, clears every replica's cache. While that connection is down a
notification could be missed, so the cache is switched off until it is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

import asyncpg

log = logging.getLogger(__name__)

CONTENT_CHANNEL = "faq_content_changed"
LISTENER_NAME = "portal-faq-content-listener"


# A CDN may keep public answers a minute and serve them stale while it revalidates.
PUBLIC_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"


@dataclass(frozen=True)
class Rendered:
    """A read answer as sent: JSON bytes, their entity tag, the language they are in.

    With it, built once, the headers of its public answer and of its 304: a cached read
    then only copies them (`routes._public`)."""

    body: bytes
    etag: str
    language: str
    headers: dict[str, str] = field(init=False, repr=False, compare=False)
    not_modified_headers: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        conditional = {
            "ETag": self.etag,
            "Cache-Control": PUBLIC_CACHE_CONTROL,
            # The language comes from Accept-Language, so caches must key on it too.
            "Vary": "Accept-Language",
            "Content-Language": self.language,
        }
        object.__setattr__(self, "not_modified_headers", conditional)
        object.__setattr__(self, "headers", {**conditional, "Content-Type": "application/json"})


class ResponseCache:
    """Least-recently-used answers by key, all dropped at once when the content changes."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[Hashable, Rendered] = OrderedDict()
        # Bumped by every invalidation: an answer rendered from content read before a
        # change must not be stored after it.
        self._generation = 0
        self.enabled = False
        self.hits = 0
        self.misses = 0
        # Called on every invalidation (a change, or the listener lost or back): whatever
        # else is derived from the content, such as the search index, follows the cache.
        self.on_invalidate: list[Callable[[], None]] = []

    async def get_or_render(
        self, key: Hashable, render: Callable[[], Awaitable[Rendered | None]]
    ) -> Rendered | None:
        """The cached answer, or `render()`'s (None, e.g. not found, is not cached)."""
        if (cached := self.cached(key)) is not None:
            return cached
        self.misses += 1
        generation = self._generation
        rendered = await render()
        if rendered is not None and self.enabled and generation == self._generation:
            self._entries[key] = rendered
            if len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return rendered

    def cached(self, key: Hashable) -> Rendered | None:
        """The stored answer, or None; renders nothing, so it needs no `await` (the hot
        path of a read)."""
        if self.enabled and (cached := self._entries.get(key)) is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return cached
        return None

    def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()
        for listener in self.on_invalidate:
            listener()

    def enable(self) -> None:
        # Whatever happened while nobody listened is unknown: start empty.
        self.invalidate()
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False
        self.invalidate()

    def __len__(self) -> int:
        return len(self._entries)


class ContentWatcher:
    """Clears `cache` on every content notification; keeps the cache off while deaf."""

    def __init__(
        self,
        dsn: str,
        cache: ResponseCache,
        check_interval: float = 30.0,
        reconnect_delay_max: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._cache = cache
        self._check_interval = check_interval
        self._reconnect_delay_max = reconnect_delay_max
        self.listening = asyncio.Event()

    async def run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._listen_until_lost()
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reads must outlive any outage
                log.warning("content listener lost: %s: %s", type(exc).__name__, exc)
            finally:
                self.listening.clear()
                self._cache.disable()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_delay_max)

    async def _listen_until_lost(self) -> None:
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": LISTENER_NAME}
        )
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(CONTENT_CHANNEL, self._changed)
            self._cache.enable()
            self.listening.set()
            log.info("listening for FAQ content changes")
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), self._check_interval)
                except TimeoutError:
                    # A silently dropped connection reports nothing: ask it.
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), 5)
            raise ConnectionError("listener connection closed")
        finally:
            if not connection.is_closed():
                connection.terminate()

    def _changed(self, *_: object) -> None:
        self._cache.invalidate()
