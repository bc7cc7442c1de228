"""/faq, /faq/{slug}, /faq/suche — the FAQ as readable pages, search without and with
JavaScript (the instant results are the same list, as an HTML fragment)."""

from __future__ import annotations

from aiohttp import web

from portal_web.pages.common import apis, caller
from portal_web.rendering import render

# The FAQ's advice about third-party cookies is the customer's text and stays; beside it
# the portal says that it itself needs only its own cookie.
COOKIE_ADVICE = frozenset({"browser-und-cookies", "cookie-einstellung"})
MAX_QUERY = 200


async def overview(request: web.Request) -> web.Response:
    answer = await apis(request).faq.call("GET", "/api/v1/faq", caller(request))
    return await render(request, "faq.html", {"categories": answer.body.get("categories", [])})


async def entry(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    answer = await apis(request).faq.call("GET", f"/api/v1/faq/entries/{slug}", caller(request))
    if not answer.ok:
        raise web.HTTPNotFound()
    return await render(request, "faq_entry.html", {"entry": answer.body, "cookie_note": slug in COOKIE_ADVICE})


async def search(request: web.Request) -> web.Response:
    query = request.query.get("q", "").strip()
    fragment = request.query.get("fragment") == "1"
    results: list[dict] = []
    problem = None
    if len(query) > MAX_QUERY:
        problem = "too_long"
    elif query:
        answer = await apis(request).faq.call(
            "GET", "/api/v1/faq/search", caller(request), query={"q": query, "limit": "10"}
        )
        if answer.status == 429:
            problem = "busy"
        results = answer.body.get("results", []) if answer.ok else []
    context = {"query": query, "results": results, "problem": problem}
    return await render(request, "faq_results.html" if fragment else "faq_search.html", context)
