"""Typed keys of what the portal application and each request hold."""

from __future__ import annotations

from aiohttp import web

from portal_web.config import PortalSettings
from portal_web.context import PortalContext
from portal_web.domain.session import Session

SETTINGS = web.AppKey("settings", PortalSettings)
CONTEXT = web.AppKey("context", PortalContext)

# Per request: the session (None until a page needs one), whether the cookie must be
# (re)sent or cleared, and the page language.
SESSION = web.RequestKey("session", Session | None)  # type: ignore[arg-type]
COOKIE_CHANGED = web.RequestKey("cookie_changed", bool)
LANGUAGE = web.RequestKey("language", str)
