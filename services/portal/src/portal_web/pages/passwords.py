"""The password rules as auth states them, for pages and the live check of scripts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from portal_web.pages.common import apis, caller, form


async def password_rules(request: web.Request) -> list[dict[str, str]]:
    """[{id, text}] in the page language, from auth's `/password/policy`."""
    answer = await apis(request).auth.call("GET", "/api/v1/auth/password/policy", caller(request))
    language = caller(request).language
    rules: list[dict[str, Any]] = answer.body.get("rules", []) if answer.ok else []
    return [{"id": str(r.get("id")), "text": str(r.get(language) or r.get("de"))} for r in rules]


async def check(request: web.Request) -> web.Response:
    """POST /passwort/pruefen (scripts, with the CSRF header): which rules the typed
    password breaks and how strong it is. Stores and logs nothing."""
    posted = await form(request)
    body = {k: posted[k][:1024] for k in ("password", "email", "last_name", "customer_number") if posted.get(k)}
    body.setdefault("password", "")
    answer = await apis(request).auth.call("POST", "/api/v1/auth/password/check", caller(request), body)
    if not answer.ok:
        return web.json_response({"available": False}, status=200)
    return web.json_response(
        {
            "available": True,
            "violations": answer.body.get("violations", []),
            "strength": answer.body.get("strength", 0),
        }
    )
