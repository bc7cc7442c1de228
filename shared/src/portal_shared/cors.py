"""CORS for the HTTP APIs: other frontends may call them from the origins listed in
`CORS_ALLOWED_ORIGINS`, and from nowhere else.

Only exact origins (checked in `settings.normalise_origin`), never `*`, and never
`Access-Control-Allow-Credentials`: the APIs take bearer tokens, not cookies. A request
from a listed origin gets `Access-Control-Allow-Origin: <that origin>`; any other is
served as before without CORS headers, so the browser keeps its answer from the page.
A preflight (OPTIONS with `Access-Control-Request-Method`) is answered here, before
routing matters, so it works for every path whatever methods the route has: `204` with
the allowed methods and headers for a listed origin, `403` problem+json for any other.
Every answer carries `Vary: Origin`, so a shared cache never hands one origin's answer
to another.

`new_application` adds the middleware only when the list is not empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from portal_shared.problems import Handler, ProblemType, problem_response

if TYPE_CHECKING:
    from multidict import CIMultiDict

ALLOW_METHODS = "GET, POST, PUT, DELETE"
ALLOW_HEADERS = (
    "Content-Type, Authorization, Accept-Language, If-Match, If-None-Match, X-Request-ID"
)
EXPOSE_HEADERS = "ETag, Retry-After, X-Request-ID, Location, Content-Language"
MAX_AGE_SECONDS = 600

CORS_ORIGIN_NOT_ALLOWED = ProblemType(
    "cors_origin_not_allowed", 403, "Origin not allowed",
    "Diese Website darf die Schnittstelle nicht direkt aufrufen.",
    "This website is not allowed to call the API directly.",
    title_de="Herkunft nicht erlaubt",
)

_REQUEST_METHOD = "Access-Control-Request-Method"


def cors_middleware(allowed_origins: Iterable[str]) -> Middleware:
    """A middleware that answers preflights and marks answers for `allowed_origins`
    (normalised origins, as `CommonSettings.cors_allowed_origins` holds them)."""
    allowed = frozenset(allowed_origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        permitted = origin if origin is not None and origin in allowed else None
        preflight = request.method == "OPTIONS" and _REQUEST_METHOD in request.headers
        if preflight and origin is not None:
            return _preflight(request, permitted)
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # one the problem middleware does not translate
            _mark(exc.headers, permitted)
            raise
        if not response.prepared:
            _mark(response.headers, permitted)
        return response

    return cors


def _preflight(request: web.Request, origin: str | None) -> web.StreamResponse:
    if origin is None:
        response: web.StreamResponse = problem_response(request, CORS_ORIGIN_NOT_ALLOWED)
        _add_vary_origin(response.headers)
        return response
    response = web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
        },
    )
    _add_vary_origin(response.headers)
    return response


def _mark(headers: CIMultiDict[str], origin: str | None) -> None:
    _add_vary_origin(headers)
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS


def _add_vary_origin(headers: CIMultiDict[str]) -> None:
    """`Vary: Origin` added to what the answer already varies by (e.g. Accept-Language)."""
    fields = [f.strip() for line in headers.getall("Vary", ()) for f in line.split(",")]
    fields = [f for f in fields if f]
    if "*" in fields or any(f.lower() == "origin" for f in fields):
        return
    headers["Vary"] = ", ".join([*fields, "Origin"])
