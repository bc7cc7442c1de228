"""The aiohttp application every service starts from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from uuid import uuid4

from aiohttp import web
from aiohttp.typedefs import Middleware

from portal_shared.cors import cors_middleware
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


def client_ip(request: web.Request, trusted_proxies: Sequence[IPv4Network | IPv6Network]) -> str:
    """The caller's address: the peer, or the last untrusted hop of X-Forwarded-For when
    the peer is one of our own proxies (an ingress, a load balancer)."""
    peer = request.remote or "unknown"
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    candidate = peer
    while hops and _is_trusted(candidate, trusted_proxies):
        candidate = hops.pop()
    return candidate


# The browser's User-Agent, as a backend-for-frontend (the portal) passes it on: its own
# User-Agent header names itself, and stays so in the logs of the service it calls.
CLIENT_USER_AGENT_HEADER = "X-Client-User-Agent"
MAX_USER_AGENT_LENGTH = 512


def client_user_agent(request: web.Request, trusted_proxies: Sequence[IPv4Network | IPv6Network]) -> str:
    """The caller's User-Agent: the one a trusted proxy passes on in X-Client-User-Agent,
    else the request's own. Only for display (a customer's list of devices)."""
    forwarded = request.headers.get(CLIENT_USER_AGENT_HEADER)
    if forwarded is not None and _is_trusted(request.remote or "", trusted_proxies):
        return forwarded[:MAX_USER_AGENT_LENGTH]
    return request.headers.get("User-Agent", "")[:MAX_USER_AGENT_LENGTH]


def _is_trusted(address: str, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def new_application(cors_allowed_origins: Sequence[str] = ()) -> web.Application:
    """The base app; `cors_allowed_origins` (normalised, from the settings) lets those
    browser origins call it directly — without any, no CORS middleware is added."""
    middlewares: list[Middleware] = [correlation_middleware]
    if cors_allowed_origins:
        # Inside the correlation middleware (preflights get an X-Request-ID too), outside
        # the problem middleware (error answers get the CORS headers too).
        middlewares.append(cors_middleware(cors_allowed_origins))
    middlewares.append(problem_middleware)
    return web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
