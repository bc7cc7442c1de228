"""HTTP layer of the FAQ API: parse the request, call the use case, format the answer.
Domain errors become problem+json here (`problems.problem_for`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache, partial, wraps

from aiohttp import web

from portal_faq import contacts, editing, reading
from portal_faq import search as searching
from portal_faq.cache import Rendered
from portal_faq.domain.errors import FaqError
from portal_faq.domain.etags import not_modified
from portal_faq.domain.search import InvalidSearch, parse_search
from portal_faq.keys import CONTEXT
from portal_faq.openapi import CONTACT_PATH, PREFIX, openapi_document
from portal_faq.problems import problem_for
from portal_faq.schemas import (
    CategoryBody,
    ContactBody,
    EntryBody,
    NewCategoryBody,
    NewEntryBody,
)
from portal_shared.i18n import Language, negotiate
from portal_shared.problems import (
    VALIDATION_ERROR,
    FieldError,
    Problem,
    parse_json_body,
)
from portal_shared.web import CORRELATION_ID, client_ip

# Only slug-shaped paths reach a handler; anything else (a NUL byte, a path of 10 kB) is
# an ordinary 404 without touching the database.
SLUG = "{slug:[a-z0-9][a-z0-9-]{0,79}}"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup(app: web.Application) -> None:
    router = app.router
    router.add_get(PREFIX, list_faq)
    router.add_get(f"{PREFIX}/openapi.json", openapi)
    router.add_get(f"{PREFIX}/search", search)
    router.add_get(f"{PREFIX}/entries/{SLUG}", get_entry)
    router.add_post(f"{PREFIX}/entries", create_entry)
    router.add_put(f"{PREFIX}/entries/{SLUG}", update_entry)
    router.add_delete(f"{PREFIX}/entries/{SLUG}", delete_entry)
    router.add_get(f"{PREFIX}/categories/{SLUG}", get_category)
    router.add_post(f"{PREFIX}/categories", create_category)
    router.add_put(f"{PREFIX}/categories/{SLUG}", update_category)
    router.add_delete(f"{PREFIX}/categories/{SLUG}", delete_category)
    router.add_post(CONTACT_PATH, contact)


def _answers_domain_errors(handler: Handler) -> Handler:
    @wraps(handler)
    async def answering(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except FaqError as error:
            raise problem_for(error) from None

    return answering


# --- reading (public, cacheable) ---------------------------------------------------


async def list_faq(request: web.Request) -> web.Response:
    ctx, language = request.app[CONTEXT], _language(request)
    rendered = reading.cached_faq(ctx, language) or await reading.faq(ctx, language)
    return _public(request, rendered)


@_answers_domain_errors
async def get_entry(request: web.Request) -> web.Response:
    ctx, slug = request.app[CONTEXT], request.match_info["slug"]
    return _public(request, await reading.entry(ctx, slug, _language(request)))


@_answers_domain_errors
async def get_category(request: web.Request) -> web.Response:
    ctx, slug = request.app[CONTEXT], request.match_info["slug"]
    return _public(request, await reading.category(ctx, slug, _language(request)))


@_answers_domain_errors
async def search(request: web.Request) -> web.Response:
    try:
        query = parse_search(request.query.get("q"), request.query.get("limit"))
    except InvalidSearch as invalid:
        raise Problem(VALIDATION_ERROR, [FieldError(invalid.field, invalid.code)]) from None
    ctx = request.app[CONTEXT]
    client = partial(client_ip, request, ctx.settings.trusted_proxies)
    return _public(
        request, await searching.search(ctx, query, _language(request), client)
    )


def _public(request: web.Request, rendered: Rendered) -> web.Response:
    """A read answer: 304 when the client holds it already, else its bytes, both with the
    headers built when it was rendered."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and not_modified(if_none_match, rendered.etag):
        return web.Response(status=304, headers=rendered.not_modified_headers)
    return web.Response(body=rendered.body, headers=rendered.headers)


# Clients send the same few Accept-Language headers over and over: parse each once.
_negotiated = lru_cache(maxsize=256)(negotiate)


def _language(request: web.Request) -> Language:
    """`request_language`, remembered per (Accept-Language, ?lang=)."""
    explicit = request.query.get("lang") if request.query_string else None
    return _negotiated(request.headers.get("Accept-Language"), explicit)


async def openapi(request: web.Request) -> web.Response:
    response = web.json_response(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# --- editing (faq_editor only) -----------------------------------------------------


@_answers_domain_errors
async def create_entry(request: web.Request) -> web.Response:
    ctx, editor = await _editor(request)
    body = await parse_json_body(request, NewEntryBody)
    await editing.create_entry(ctx, body, editor)
    return await _entry_written(request, body.slug, status=201)


@_answers_domain_errors
async def update_entry(request: web.Request) -> web.Response:
    ctx, editor = await _editor(request)
    body = await parse_json_body(request, EntryBody)
    slug = request.match_info["slug"]
    await editing.update_entry(ctx, slug, body, _if_match(request), editor)
    return await _entry_written(request, slug, status=200)


@_answers_domain_errors
async def delete_entry(request: web.Request) -> web.Response:
    ctx, editor = await _editor(request)
    await editing.delete_entry(ctx, request.match_info["slug"], _if_match(request), editor)
    return web.Response(status=204)


@_answers_domain_errors
async def create_category(request: web.Request) -> web.Response:
    ctx, editor = await _editor(request)
    body = await parse_json_body(request, NewCategoryBody)
    await editing.create_category(ctx, body, editor)
    return await _category_written(request, body.slug, status=201)


@_answers_domain_errors
async def update_category(request: web.Request) -> web.Response:
    ctx, editor = await _editor(request)
    body = await parse_json_body(request, CategoryBody)
    slug = request.match_info["slug"]
    await editing.update_category(ctx, slug, body, _if_match(request), editor)
    return await _category_written(request, slug, status=200)


@_answers_domain_errors
async def delete_category(request: web.Request) -> web.Response:
    ctx, editor = await _editor(request)
    await editing.delete_category(ctx, request.match_info["slug"], _if_match(request), editor)
    return web.Response(status=204)


async def _editor(request: web.Request):  # type: ignore[no-untyped-def]
    """The context and the account id of a caller holding the editor role."""
    ctx = request.app[CONTEXT]
    return ctx, await editing.authorise(ctx, request.headers.get("Authorization"))


def _if_match(request: web.Request) -> str | None:
    return request.headers.get("If-Match")


async def _entry_written(request: web.Request, slug: str, status: int) -> web.Response:
    # EntryNotFound: deleted by someone else between commit and this read.
    rendered = await reading.entry(request.app[CONTEXT], slug, _language(request))
    return _written(rendered, status, f"{PREFIX}/entries/{slug}")


async def _category_written(request: web.Request, slug: str, status: int) -> web.Response:
    rendered = await reading.category(request.app[CONTEXT], slug, _language(request))
    return _written(rendered, status, f"{PREFIX}/categories/{slug}")


def _written(rendered: Rendered, status: int, location: str) -> web.Response:
    headers = {
        "ETag": rendered.etag,
        "Location": location,
        "Content-Language": rendered.language,
        "Cache-Control": "no-store",
    }
    return web.Response(
        status=status, body=rendered.body, content_type="application/json", headers=headers
    )


# --- contact form ------------------------------------------------------------------


@_answers_domain_errors
async def contact(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await parse_json_body(request, ContactBody)
    sender = client_ip(request, ctx.settings.trusted_proxies)
    contact_id = await contacts.submit(
        ctx, body, _language(request), sender, request[CORRELATION_ID]
    )
    return web.json_response(
        {"status": "accepted", "id": str(contact_id)},
        status=202,
        headers={"Cache-Control": "no-store"},
    )
