"""/sprache?lang=en&next=/faq: the language switch; the choice stays with the session."""

from __future__ import annotations

from aiohttp import web

from portal_shared.i18n import SUPPORTED
from portal_web import sessions
from portal_web.domain.safety import local_path
from portal_web.pages.common import redirect


async def switch(request: web.Request) -> web.Response:
    language = request.query.get("lang", "")
    if language in SUPPORTED:
        await sessions.set_language(request, language)
    return redirect(local_path(request.query.get("next"), default="/"))
