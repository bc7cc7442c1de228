"""Reading the FAQ: answers rendered once into bytes and kept in the response cache until
the content changes."""

from __future__ import annotations

from portal_faq.cache import Rendered
from portal_faq.context import FaqContext
from portal_faq.domain.errors import CategoryNotFound, EntryNotFound
from portal_faq.domain.etags import body_etag, state_etag
from portal_faq.repository import reading as repo
from portal_faq.views import category_view, encode, faq_view, single_entry_view
from portal_shared.i18n import Language

_FAQ_KEYS = {"de": ("faq", "de"), "en": ("faq", "en")}


def cached_faq(ctx: FaqContext, language: Language) -> Rendered | None:
    """The whole FAQ when it is in the cache (nearly always): no coroutine, no render."""
    return ctx.cache.cached(_FAQ_KEYS[language])


async def faq(ctx: FaqContext, language: Language) -> Rendered:
    async def render() -> Rendered:
        body = encode(faq_view(await repo.list_entries(ctx.pool), language))
        return Rendered(body, body_etag(body), language)

    rendered = await ctx.cache.get_or_render(_FAQ_KEYS[language], render)
    assert rendered is not None  # the whole FAQ always renders
    return rendered


async def entry(ctx: FaqContext, slug: str, language: Language) -> Rendered:
    async def render() -> Rendered | None:
        stored = await repo.find_entry(ctx.pool, slug)
        if stored is None:
            return None
        view = single_entry_view(stored, language)
        return Rendered(encode(view), state_etag(stored.state(), language), view["language"])

    rendered = await ctx.cache.get_or_render(("entry", slug, language), render)
    if rendered is None:
        raise EntryNotFound(slug)
    return rendered


async def category(ctx: FaqContext, slug: str, language: Language) -> Rendered:
    async def render() -> Rendered | None:
        stored = await repo.find_category(ctx.pool, slug)
        if stored is None:
            return None
        view = category_view(stored, language)
        return Rendered(encode(view), state_etag(stored.state(), language), view["language"])

    rendered = await ctx.cache.get_or_render(("category", slug, language), render)
    if rendered is None:
        raise CategoryNotFound(slug)
    return rendered
