"""Pages from Jinja2 templates in the visitor's language.

Texts live in `texts.toml` (German first, English beside it); templates ask for them
with `t("register.title")`. Autoescaping is on for every template.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from portal_shared.i18n import negotiate
from portal_web.domain.safety import local_path
from portal_web.keys import CONTEXT, LANGUAGE, SESSION

STATIC_DIR = files("portal_web") / "static"
BERLIN = ZoneInfo("Europe/Berlin")


@lru_cache(maxsize=1)
def texts() -> dict[str, dict[str, str]]:
    raw = tomllib.loads((files("portal_web") / "texts.toml").read_text(encoding="utf-8"))
    flat: dict[str, dict[str, str]] = {}

    def walk(prefix: str, node: Mapping[str, Any]) -> None:
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, Mapping) and set(value) == {"de", "en"}:
                flat[name] = dict(value)
            elif isinstance(value, Mapping):
                walk(name, value)
    walk("", raw)
    return flat


def translate(language: str, key: str, **values: object) -> str:
    entry = texts().get(key)
    if entry is None:
        return key
    text = entry.get(language) or entry["de"]
    return text.format(**values) if values else text


@lru_cache(maxsize=1)
def static_version() -> str:
    """Changes whenever a static file does, so browsers may cache them for long."""
    digest = hashlib.sha256()
    for item in sorted(STATIC_DIR.iterdir(), key=lambda i: i.name):
        if item.is_file():
            digest.update(item.name.encode() + item.read_bytes())
    return digest.hexdigest()[:10]


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("portal_web", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package; no stat() per render
    )
    env.globals["static_version"] = static_version()


def _page_context(request: web.Request) -> dict[str, Any]:
    """What every template may use; computed here, not in a middleware, so that error
    pages rendered outside the usual path have it too."""
    language = request.get(LANGUAGE, "de")
    session = request.get(SESSION)
    settings = request.app[CONTEXT].settings
    other = "en" if language == "de" else "de"

    def t(key: str, **values: object) -> str:
        return translate(language, key, **values)

    def error_text(field: str, code: str, wait: int | None = None) -> str:
        """The message for a field's error: specific to the field if we have one."""
        values = {"minutes": wait or 1}
        for key in (f"errors.{field}.{code}", f"errors.{code}", "errors.invalid"):
            if key in texts():
                return translate(language, key, **values)
        return translate(language, "errors.invalid")

    def format_date(value: datetime) -> str:
        local = value.astimezone(BERLIN)
        return local.strftime("%d.%m.%Y") if language == "de" else local.strftime("%-d %B %Y")

    def format_moment(value: datetime) -> str:
        local = value.astimezone(BERLIN)
        if language == "de":
            return local.strftime("%d.%m.%Y, %H:%M Uhr")
        return local.strftime("%-d %B %Y, %H:%M")

    return {
        "lang": language,
        "t": t,
        "error_text": error_text,
        "format_date": format_date,
        "format_moment": format_moment,
        "logged_in": bool(session and session.logged_in),
        "csrf_token": session.csrf_token if session else "",
        "path": request.path,
        "other_lang": other,
        "switch_url": f"/sprache?lang={other}&next={quote(request.path_qs, safe='/')}",
        "terms_version": settings.terms_version,
        "privacy_version": settings.privacy_version,
    }


async def render(
    request: web.Request, template: str, context: Mapping[str, Any] | None = None,
    status: int = 200, headers: Mapping[str, str] | None = None,
) -> web.Response:
    page = {**_page_context(request), **(context or {})}
    response = aiohttp_jinja2.render_template(template, request, page, status=status)
    if headers:
        response.headers.update(headers)
    response.headers["Content-Language"] = request.get(LANGUAGE, "de")
    return response


async def render_error(
    request: web.Request, status: int, reason: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A full page for a failure: what happened and what the visitor can do now."""
    if LANGUAGE not in request:
        request[LANGUAGE] = negotiate(request.headers.get("Accept-Language"), request.query.get("lang"))
    retry = _RETRY_PAGE.get(request.path, request.path) if request.method == "POST" else request.path
    retry = local_path(retry, default="/")  # never a link to another site
    context = {"reason": reason, "status": status, "retry_path": retry}
    return await render(request, "error.html", context, status, headers)


# Where to start again after a refused POST to a path that has no page of its own.
_RETRY_PAGE = {
    "/logout": "/konto", "/konto/passwort": "/konto", "/konto/email": "/konto",
    "/konto/geraete/abmelden": "/konto", "/konto/geraete/andere-abmelden": "/konto", "/passwort/pruefen": "/",
}
