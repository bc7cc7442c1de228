"""The start page: what the portal is, log in or register, FAQ search, top questions."""

from __future__ import annotations

from aiohttp import web

from portal_web.keys import CONTEXT
from portal_web.pages.common import apis, caller
from portal_web.rendering import render
from portal_web.upstream import Answer, UpstreamUnavailable


async def start(request: web.Request) -> web.Response:
    try:
        faq = await apis(request).faq.call("GET", "/api/v1/faq", caller(request))
    except UpstreamUnavailable:  # the start page still leads to login and registration
        faq = Answer(503)
    wanted = request.app[CONTEXT].settings.portal_top_faq
    entries = {e["slug"]: e for c in faq.body.get("categories", []) for e in c.get("entries", [])}
    top = [entries[slug] for slug in wanted if slug in entries]
    return await render(request, "start.html", {"top_entries": top})
