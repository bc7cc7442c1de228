"""Read answers, rendered once into bytes and kept in the response cache until the
content changes. Routes only pick the key and the language."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

import asyncpg

from portal_faq.cache import Rendered, ResponseCache
from portal_faq.domain.etags import body_etag, state_etag
from portal_faq.domain.search import MARK_END, MARK_START, SearchRequest, search_terms, snippet_html
from portal_faq.indexing import SearchIndexHolder
from portal_faq.repository import reading as repo
from portal_faq.repository import search as search_repo
from portal_faq.views import category_view, faq_view, search_view, single_entry_view
from portal_shared.i18n import Language

_HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_END}"
QUESTION_HEADLINE_OPTIONS = f"{_HEADLINE}, HighlightAll=true"
ANSWER_HEADLINE_OPTIONS = (
    f'{_HEADLINE}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
)


class Reader:
    def __init__(
        self, pool: asyncpg.Pool, cache: ResponseCache, search_index: SearchIndexHolder
    ) -> None:
        self._pool = pool
        self._cache = cache
        self._search_index = search_index

    async def faq(self, language: Language) -> Rendered:
        async def render() -> Rendered:
            rows = await repo.list_entries(self._pool)
            return _by_body(faq_view(rows, language), language)

        rendered = await self._cache.get_or_render(("faq", language), render)
        assert rendered is not None  # the whole FAQ always renders
        return rendered

    async def entry(self, slug: str, language: Language) -> Rendered | None:
        async def render() -> Rendered | None:
            row = await repo.find_entry(self._pool, slug)
            if row is None:
                return None
            view = single_entry_view(row, language)
            return Rendered(_encode(view), state_etag(row, language), view["language"])

        return await self._cache.get_or_render(("entry", slug, language), render)

    async def category(self, slug: str, language: Language) -> Rendered | None:
        async def render() -> Rendered | None:
            row = await repo.find_category(self._pool, slug)
            if row is None:
                return None
            view = category_view(row, language)
            return Rendered(_encode(view), state_etag(row, language), view["language"])

        return await self._cache.get_or_render(("category", slug, language), render)

    async def search(
        self, request: SearchRequest, language: Language, on_miss: Callable[[], Awaitable[None]]
    ) -> Rendered:
        async def render() -> Rendered:
            index = self._search_index.index
            if index is not None:  # in memory: no database time, so no rate limit
                results = index.search(request.text, request.limit, language)
                return _by_body_bytes(search_body(results, language), language)
            await on_miss()  # only a query the database answers costs its time
            terms = search_terms(request.text)
            rows = await search_repo.search(
                self._pool,
                [t.position for t in terms],
                [t.word for t in terms],
                request.limit,
                language,
                QUESTION_HEADLINE_OPTIONS,
                ANSWER_HEADLINE_OPTIONS,
            )
            results = [
                {
                    **dict(row),
                    "question_html": snippet_html(row["question_headline"]),
                    "snippet_html": snippet_html(row["answer_headline"]),
                }
                for row in rows
            ]
            return _by_body(search_view(results, language), language)

        key = ("search", request.text.casefold(), request.limit, language)
        rendered = await self._cache.get_or_render(key, render)
        assert rendered is not None
        return rendered


def _by_body(view: dict[str, Any], language: str) -> Rendered:
    return _by_body_bytes(_encode(view), language)


def _by_body_bytes(body: bytes, language: str) -> Rendered:
    return Rendered(body, body_etag(body), language)


_SEARCH_FIELDS = (
    "slug", "question", "question_html", "snippet_html", "category_slug", "category_title",
    "english",
)


def search_body(results: Iterable[Mapping[str, Any]], language: Language) -> bytes:
    """`_encode(search_view(results, language))`, byte for byte, from results encoded once:
    the index hands out the same result (same entry, same marks) again and again."""
    parts = [_encoded_result(*(row[field] for field in _SEARCH_FIELDS)) for row in results]
    return b'{"language":%s,"results":[%s]}' % (json.dumps(language).encode(), b",".join(parts))


@lru_cache(maxsize=8192)
def _encoded_result(*values: Any) -> bytes:
    view = search_view([dict(zip(_SEARCH_FIELDS, values, strict=True))], "de")
    return _encode(view["results"][0])


def _encode(view: dict[str, Any]) -> bytes:
    return json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode()
