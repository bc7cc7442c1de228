"""HTTP layer of the FAQ API: pick the language, read, format."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from portal_faq import keys
from portal_faq import repository as repo
from portal_faq.problems import FAQ_ENTRY_NOT_FOUND
from portal_faq.views import faq_view, single_entry_view
from portal_shared.problems import Problem, request_language

PREFIX = "/api/v1/faq"


def setup(app: web.Application) -> None:
    app.router.add_get(PREFIX, list_faq)
    app.router.add_get(f"{PREFIX}/entries/{{slug}}", get_entry)


async def list_faq(request: web.Request) -> web.Response:
    language = request_language(request)
    rows = await repo.list_entries(request.app[keys.POOL])
    return _localised(faq_view(rows, language))


async def get_entry(request: web.Request) -> web.Response:
    row = await repo.find_entry(request.app[keys.POOL], request.match_info["slug"])
    if row is None:
        raise Problem(FAQ_ENTRY_NOT_FOUND)
    return _localised(single_entry_view(row, request_language(request)))


def _localised(body: dict[str, Any]) -> web.Response:
    # The answer depends on Accept-Language, so caches must key on it too.
    return web.json_response(
        body, headers={"Content-Language": body["language"], "Vary": "Accept-Language"}
    )
