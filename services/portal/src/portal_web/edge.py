"""What every request passes through: security headers, the session cookie, the CSRF
check of every POST, and German error pages instead of tracebacks."""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web

from portal_shared.i18n import negotiate
from portal_shared.problems import Handler
from portal_shared.web import CORRELATION_ID
from portal_web import sessions
from portal_web.domain import session as rules
from portal_web.domain.safety import cookie_name, login_redirect
from portal_web.keys import CONTEXT, COOKIE_CHANGED, LANGUAGE, SESSION
from portal_web.rendering import render_error
from portal_web.repository import sessions as repo
from portal_web.upstream import UpstreamUnavailable

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
STATIC_PREFIX = "/static/"  # routes.py serves the files there

# No inline script or style anywhere: everything comes from /static on this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a page in the customer's language; nothing internal leaks."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status in (404, 405):
            allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            page = await render_error(request, exc.status, "not_found", headers=allow)
        elif exc.status == 413:
            page = await render_error(request, 413, "too_large")
        else:
            raise
    except UpstreamUnavailable:
        page = await render_error(request, 503, "unavailable", headers={"Retry-After": "30"})
    except Exception:
        log.exception("unhandled error on %s %s (%s)", request.method, request.path, request.get(CORRELATION_ID))
        page = await render_error(request, 500, "internal")
    # A session started, rotated or ended before the failure keeps its cookie.
    _send_cookie(request, page)
    return page


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the session named by the cookie, check POSTs, and send the cookie back when
    the session was started, rotated or ended."""
    ctx = request.app[CONTEXT]
    request[COOKIE_CHANGED] = False
    if request.path.startswith(STATIC_PREFIX):
        # Files need no session: no lookup per stylesheet, and no Set-Cookie on an answer
        # a shared cache might keep and hand to others.
        request[SESSION] = None
        request[LANGUAGE] = negotiate(request.headers.get("Accept-Language"), request.query.get("lang"))
        return await handler(request)
    session_id = request.cookies.get(cookie_name(ctx.settings.secure))
    request[SESSION] = await _load(request, session_id) if session_id else None
    current = request[SESSION]
    request[LANGUAGE] = negotiate(
        request.headers.get("Accept-Language"),
        request.query.get("lang") or (current.language if current else None),
    )
    # A path without a page (404, 405) changes nothing: its error page comes without a
    # form check, and so never links back to an address an attacker made up.
    if request.method not in _SAFE_METHODS and request.match_info.http_exception is None:
        refusal = await _csrf_refusal(request, had_cookie=session_id is not None)
        if refusal is not None:
            _send_cookie(request, refusal)
            return refusal
    try:
        response = await handler(request)
    except sessions.LoginRequired as required:
        response = web.Response(status=303, headers={"Location": login_redirect(request.path_qs, required.expired)})
    except web.HTTPException as exc:
        _send_cookie(request, exc)
        raise
    _send_cookie(request, response)
    return response


async def _load(request: web.Request, session_id: str) -> rules.Session | None:
    ctx = request.app[CONTEXT]
    if len(session_id) > 100:
        return None
    session = await repo.find(ctx.pool, session_id)
    if session is None:
        return None
    now = ctx.clock()
    if rules.has_ended(session, now, ctx.lifetime):
        await repo.delete(ctx.pool, session.id)
        request[COOKIE_CHANGED] = True  # clear it
        return None
    if rules.needs_touch(session, now):
        await repo.touch(ctx.pool, session.id, now)
    return session


async def _csrf_refusal(request: web.Request, had_cookie: bool) -> web.StreamResponse | None:
    """Synchroniser token: the form's hidden field (or a script's header) must equal the
    token stored with the session. Also refuse posts a browser says came from elsewhere."""
    ctx = request.app[CONTEXT]
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin != _origin(str(ctx.settings.portal_base_url)):
        return await render_error(request, 403, "csrf")
    session = request[SESSION]
    sent = request.headers.get(CSRF_HEADER)
    if request.content_type in _FORM_TYPES:
        # Parsed here, whichever way the token came, so a body no browser form sends
        # (bytes that are not UTF-8, an unknown charset, broken multipart or gzip) is
        # refused once, as a page, instead of failing in a handler as a 500. Pages read
        # the cached result.
        try:
            form = await request.post()
        except (ValueError, LookupError, web.RequestPayloadError):
            return await render_error(request, 400, "bad_request")
        if sent is None:
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if session is None:
        # A form that carries a token but no cookie came back: cookies are switched off.
        reason = "cookies_disabled" if sent and not had_cookie else "csrf"
        return await render_error(request, 403, reason)
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        return await render_error(request, 403, "csrf")
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _send_cookie(request: web.Request, response: web.StreamResponse) -> None:
    if not request.get(COOKIE_CHANGED) or response.prepared:
        return
    settings = request.app[CONTEXT].settings
    name = cookie_name(settings.secure)
    session = request.get(SESSION)
    if session is None:
        response.del_cookie(name, path="/", secure=settings.secure, httponly=True, samesite="Lax")
        return
    response.set_cookie(
        name, session.id, path="/", secure=settings.secure, httponly=True, samesite="Lax"
    )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Server"] = "Kundenportal"
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # Activation and reset links carry tokens in the address: never pass it on.
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if request.app[CONTEXT].settings.secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if not request.path.startswith(STATIC_PREFIX):
        # Pages show personal data and carry CSRF tokens: no shared or back-button copies.
        headers.setdefault("Cache-Control", "no-store")
