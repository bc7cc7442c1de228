"""HTTP layer of the FAQ API: parse, check the caller, call the service, format."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from portal_faq import keys
from portal_faq.access import InvalidToken, KeysUnavailable
from portal_faq.cache import Rendered
from portal_faq.domain.editors import may_edit
from portal_faq.domain.etags import not_modified
from portal_faq.domain.search import InvalidSearch, parse_search
from portal_faq.openapi import openapi_document
from portal_faq.problems import FAQ_CATEGORY_NOT_FOUND, FAQ_ENTRY_NOT_FOUND, FORBIDDEN
from portal_faq.schemas import (
    CategoryBody,
    ContactBody,
    EntryBody,
    NewCategoryBody,
    NewEntryBody,
)
from portal_shared.problems import (
    SERVICE_UNAVAILABLE,
    UNAUTHORIZED,
    VALIDATION_ERROR,
    FieldError,
    Problem,
    ProblemType,
    parse_json_body,
    request_language,
)
from portal_shared.ratelimit import Limit, too_many_attempts
from portal_shared.web import CORRELATION_ID, bearer_token, client_ip

PREFIX = "/api/v1/faq"
CONTACT_PATH = "/api/v1/contact"
# A CDN may keep public answers a minute and serve them stale while it revalidates.
PUBLIC_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"


# Only slug-shaped paths reach a handler; anything else (a NUL byte, a path of 10 kB) is
# an ordinary 404 without touching the database.
SLUG = "{slug:[a-z0-9][a-z0-9-]{0,79}}"


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


# --- reading (public, cacheable) ---------------------------------------------------


async def list_faq(request: web.Request) -> web.Response:
    return _public(request, await request.app[keys.READER].faq(request_language(request)))


async def get_entry(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    rendered = await request.app[keys.READER].entry(slug, request_language(request))
    if rendered is None:
        raise Problem(FAQ_ENTRY_NOT_FOUND)
    return _public(request, rendered)


async def get_category(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    rendered = await request.app[keys.READER].category(slug, request_language(request))
    if rendered is None:
        raise Problem(FAQ_CATEGORY_NOT_FOUND)
    return _public(request, rendered)


async def search(request: web.Request) -> web.Response:
    try:
        query = parse_search(request.query.get("q"), request.query.get("limit"))
    except InvalidSearch as invalid:
        raise Problem(VALIDATION_ERROR, [FieldError(invalid.field, invalid.code)]) from None

    async def admit_database_search() -> None:
        # Only searches the database answers count: while the replica has no search index
        # (its content listener is down, or the index is being rebuilt). The in-memory
        # index and the cache answer without limit.
        settings = request.app[keys.SETTINGS]
        per_ip = Limit("search", hits=settings.search_max_per_minute, window=timedelta(minutes=1))
        wait = await request.app[keys.LIMITER].hit(per_ip, client_ip(request, settings.trusted_proxies))
        if wait is not None:
            raise too_many_attempts(wait)

    reader = request.app[keys.READER]
    return _public(request, await reader.search(query, request_language(request), admit_database_search))


def _public(request: web.Request, rendered: Rendered) -> web.Response:
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": PUBLIC_CACHE_CONTROL,
        # The language comes from Accept-Language, so caches must key on it too.
        "Vary": "Accept-Language",
        "Content-Language": rendered.language,
    }
    if not_modified(request.headers.get("If-None-Match"), rendered.etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=rendered.body, content_type="application/json", headers=headers)


async def openapi(request: web.Request) -> web.Response:
    response = web.json_response(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# --- editing (faq_editor only) -----------------------------------------------------


async def create_entry(request: web.Request) -> web.Response:
    editor = await _editor(request)
    body = await parse_json_body(request, NewEntryBody)
    await request.app[keys.EDITING].create_entry(body, editor)
    return await _entry_written(request, body.slug, status=201)


async def update_entry(request: web.Request) -> web.Response:
    editor = await _editor(request)
    body = await parse_json_body(request, EntryBody)
    slug = request.match_info["slug"]
    await request.app[keys.EDITING].update_entry(slug, body, _if_match(request), editor)
    return await _entry_written(request, slug, status=200)


async def delete_entry(request: web.Request) -> web.Response:
    editor = await _editor(request)
    slug = request.match_info["slug"]
    await request.app[keys.EDITING].delete_entry(slug, _if_match(request), editor)
    return web.Response(status=204)


async def create_category(request: web.Request) -> web.Response:
    editor = await _editor(request)
    body = await parse_json_body(request, NewCategoryBody)
    await request.app[keys.EDITING].create_category(body, editor)
    return await _category_written(request, body.slug, status=201)


async def update_category(request: web.Request) -> web.Response:
    editor = await _editor(request)
    body = await parse_json_body(request, CategoryBody)
    slug = request.match_info["slug"]
    await request.app[keys.EDITING].update_category(slug, body, _if_match(request), editor)
    return await _category_written(request, slug, status=200)


async def delete_category(request: web.Request) -> web.Response:
    editor = await _editor(request)
    slug = request.match_info["slug"]
    await request.app[keys.EDITING].delete_category(slug, _if_match(request), editor)
    return web.Response(status=204)


async def _editor(request: web.Request) -> str:
    """The account id of a caller holding the editor role; 401 / 403 / 503 otherwise."""
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise Problem(UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    try:
        caller = await request.app[keys.TOKENS].verify(token)
    except InvalidToken:
        raise Problem(
            UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None
    except KeysUnavailable:
        raise Problem(SERVICE_UNAVAILABLE, headers={"Retry-After": "30"}) from None
    if not may_edit(caller.roles):
        # Settled without asking auth: a role granted since takes effect with the next
        # access token (login or refresh).
        raise Problem(FORBIDDEN)
    try:
        roles_now = await request.app[keys.SESSIONS].current_roles(token, caller.roles)
    except KeysUnavailable:
        raise Problem(SERVICE_UNAVAILABLE, headers={"Retry-After": "30"}) from None
    if roles_now is None:  # logged out, password reset or account deleted meanwhile
        raise Problem(UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if not may_edit(roles_now):  # the role was revoked after the token was issued
        raise Problem(FORBIDDEN)
    return caller.account_id


def _if_match(request: web.Request) -> str | None:
    return request.headers.get("If-Match")


async def _entry_written(request: web.Request, slug: str, status: int) -> web.Response:
    rendered = await request.app[keys.READER].entry(slug, request_language(request))
    return _written(rendered, status, f"{PREFIX}/entries/{slug}", FAQ_ENTRY_NOT_FOUND)


async def _category_written(request: web.Request, slug: str, status: int) -> web.Response:
    rendered = await request.app[keys.READER].category(slug, request_language(request))
    return _written(rendered, status, f"{PREFIX}/categories/{slug}", FAQ_CATEGORY_NOT_FOUND)


def _written(
    rendered: Rendered | None, status: int, location: str, gone: ProblemType
) -> web.Response:
    if rendered is None:  # deleted by someone else between commit and this read
        raise Problem(gone)
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


async def contact(request: web.Request) -> web.Response:
    body = await parse_json_body(request, ContactBody)
    sender = client_ip(request, request.app[keys.SETTINGS].trusted_proxies)
    contact_id = await request.app[keys.CONTACTS].submit(
        body, request_language(request), sender, request[CORRELATION_ID]
    )
    return web.json_response(
        {"status": "accepted", "id": str(contact_id)},
        status=202,
        headers={"Cache-Control": "no-store"},
    )
