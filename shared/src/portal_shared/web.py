"""The aiohttp application every service starts from."""

from __future__ import annotations

import re
from uuid import uuid4

from aiohttp import web

from portal_shared.problems import Handler, problem_middleware

CORRELATION_ID = web.RequestKey("correlation_id", str)
MAX_BODY_BYTES = 64 * 1024
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Carry the caller's X-Request-ID (or a new one) into logs, events and the answer."""
    given = request.headers.get("X-Request-ID", "")
    correlation_id = given if _SAFE_REQUEST_ID.match(given) else str(uuid4())
    request[CORRELATION_ID] = correlation_id
    response = await handler(request)
    response.headers["X-Request-ID"] = correlation_id
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def new_application() -> web.Application:
    return web.Application(
        middlewares=[correlation_middleware, problem_middleware], client_max_size=MAX_BODY_BYTES
    )
