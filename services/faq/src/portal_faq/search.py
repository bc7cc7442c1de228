"""Searching the FAQ: from this replica's in-memory index while it has one, else from the
database (rate-limited per client address: only those searches cost database time).
Answers are kept in the response cache like every read."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from portal_faq.cache import Rendered
from portal_faq.context import FaqContext
from portal_faq.domain.etags import body_etag
from portal_faq.domain.search import (
    MARK_END,
    MARK_START,
    SearchRequest,
    search_limit,
    search_terms,
    snippet_html,
)
from portal_faq.repository import search as repo
from portal_faq.views import encode, search_view
from portal_shared.i18n import Language
from portal_shared.ratelimit import client_subject

_HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_END}"
QUESTION_HEADLINE_OPTIONS = f"{_HEADLINE}, HighlightAll=true"
ANSWER_HEADLINE_OPTIONS = (
    f'{_HEADLINE}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
)


async def search(
    ctx: FaqContext, request: SearchRequest, language: Language, client: Callable[[], str]
) -> Rendered:
    """`client` names the caller's address; asked only when the database has to answer."""

    async def render() -> Rendered:
        index = ctx.search_index.index
        if index is not None:  # in memory: no database time, so no rate limit
            body = search_body(index.search(request.text, request.limit, language), language)
        else:
            per_minute = ctx.settings.search_max_per_minute
            await ctx.limit(search_limit(per_minute), client_subject(client()))
            body = encode(search_view(await _database_results(ctx, request, language), language))
        return Rendered(body, body_etag(body), language)

    key = ("search", request.text.casefold(), request.limit, language)
    rendered = await ctx.cache.get_or_render(key, render)
    assert rendered is not None
    return rendered


async def _database_results(
    ctx: FaqContext, request: SearchRequest, language: Language
) -> list[dict[str, Any]]:
    terms = search_terms(request.text)
    hits = await repo.search(
        ctx.pool,
        [t.position for t in terms],
        [t.word for t in terms],
        request.limit,
        language,
        QUESTION_HEADLINE_OPTIONS,
        ANSWER_HEADLINE_OPTIONS,
    )
    return [
        {
            "slug": hit.slug,
            "question": hit.question,
            "question_html": snippet_html(hit.question_headline),
            "snippet_html": snippet_html(hit.answer_headline),
            "category_slug": hit.category_slug,
            "category_title": hit.category_title,
            "english": hit.english,
        }
        for hit in hits
    ]


_SEARCH_FIELDS = (
    "slug", "question", "question_html", "snippet_html", "category_slug", "category_title",
    "english",
)


def search_body(results: Iterable[Mapping[str, Any]], language: Language) -> bytes:
    """`encode(search_view(results, language))`, byte for byte, from results encoded once:
    the index hands out the same result (same entry, same marks) again and again."""
    parts = [_encoded_result(*(row[field] for field in _SEARCH_FIELDS)) for row in results]
    return b'{"language":%s,"results":[%s]}' % (json.dumps(language).encode(), b",".join(parts))


@lru_cache(maxsize=8192)
def _encoded_result(*values: Any) -> bytes:
    view = search_view([dict(zip(_SEARCH_FIELDS, values, strict=True))], "de")
    return encode(view["results"][0])
