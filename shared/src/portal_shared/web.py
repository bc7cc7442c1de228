"""The aiohttp application every service starts from.

Besides routing errors to problem+json (`problems`) and CORS (`cors`), it gives every
answer the same security headers (`security_headers`) and keeps a client's broken body
out of the error log (`ClientBodyErrors`). The portal has its own edge (`portal_web.edge`).
"""

from __future__ import annotations

import itertools
import logging
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from time import perf_counter
from typing import Protocol

from aiohttp import web, web_response
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestPayloadError

from portal_shared.cors import cors_middleware
from portal_shared.problems import Handler, problem_answer, problem_middleware

CORRELATION_ID = web.RequestKey("correlation_id", str)
MAX_BODY_BYTES = 64 * 1024
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

Proxies = Sequence[IPv4Network | IPv6Network]

# No product or version: aiohttp's default names Python's and its own.
SERVER = "Kundenportal"
# The APIs answer with data (JSON, plain text), never a page: nothing in an answer may
# load anything, and no site may frame one.
CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Carry the caller's X-Request-ID (or a new one) into logs, events and the answer."""
    given = request.headers.get("X-Request-ID")
    correlation_id = given if given and _SAFE_REQUEST_ID.match(given) else new_request_id()
    request[CORRELATION_ID] = correlation_id
    response = await handler(request)
    response.headers["X-Request-ID"] = correlation_id
    return response


class RequestObserver(Protocol):
    def observe_request(self, request: web.Request, status: int, seconds: float) -> None: ...


class ApiEdge:
    """The one middleware of an API without CORS: `correlation_middleware` around
    `problem_middleware`, and the HTTP metrics once `metrics.add_metrics` gives it their
    observer. Each middleware layer costs a coroutine and aiohttp's wrapper on every
    request, more than the FAQ's cached answer itself (bench/README.md, "FAQ reads")."""

    __middleware_version__ = 1  # what aiohttp's @web.middleware marks

    def __init__(self) -> None:
        self.observer: RequestObserver | None = None

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = perf_counter()
        given = request.headers.get("X-Request-ID")
        correlation_id = given if given and _SAFE_REQUEST_ID.match(given) else new_request_id()
        request[CORRELATION_ID] = correlation_id
        status = 500
        try:
            try:
                response = await handler(request)
            except Exception as error:  # noqa: BLE001 - every error gets its answer
                response = problem_answer(request, error)
            status = response.status
        except web.HTTPException as exc:  # one without a problem type: aiohttp answers
            status = exc.status
            raise
        finally:
            if self.observer is not None:
                self.observer.observe_request(request, status, perf_counter() - started)
        response.headers["X-Request-ID"] = correlation_id
        return response


API_EDGE = web.AppKey("api_edge", ApiEdge)


def new_request_id() -> str:
    """A request id shaped like a version 4 UUID: random per process (72 bits), counting
    per request (48 bits), so ids never repeat within a process and practically never
    across replicas. `str(uuid4())` did the same with a system call for randomness and a
    UUID object on every request, which cost more than the FAQ's whole cached answer; a
    request id names a request in logs and events and is no secret."""
    return f"{_REQUEST_ID_PREFIX}{next(_request_numbers) & 0xFFFFFFFFFFFF:012x}"


def _request_id_prefix() -> str:
    h = f"{random.SystemRandom().getrandbits(80):020x}"
    variant = "89ab"[int(h[15], 16) & 3]  # RFC 4122
    return f"{h[:8]}-{h[8:12]}-4{h[12:15]}-{variant}{h[16:19]}-"


_REQUEST_ID_PREFIX = _request_id_prefix()
_request_numbers = itertools.count(random.SystemRandom().getrandbits(48))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header; None when there is none."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def client_ip(request: web.Request, trusted_proxies: Proxies) -> str:
    """The caller's address: the peer, or the last untrusted hop of X-Forwarded-For when
    the peer is one of our own proxies (an ingress, a load balancer)."""
    peer = request.remote or "unknown"
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    candidate = peer
    while hops and _is_trusted(candidate, trusted_proxies):
        candidate = hops.pop()
    return candidate


def served_over_https(request: web.Request, trusted_proxies: Proxies) -> bool:
    """Whether the client reached us over https: TLS on this connection, or a proxy of
    ours (TRUSTED_PROXIES, e.g. the ingress that ends TLS) says so in X-Forwarded-Proto.
    From anyone else the header is ignored. With several proxies the first value is the
    one the client-facing proxy set."""
    if request.secure:
        return True
    if not _is_trusted(request.remote or "", trusted_proxies):
        return False
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"


# Set on every answer (Content-Security-Policy only where the answer has none).
SECURITY_HEADERS = {
    "Server": SERVER,
    "X-Content-Type-Options": "nosniff",
    # Tokens travel in bodies, but an address may still say too much.
    "Referrer-Policy": "no-referrer",
}


def security_headers(
    trusted_proxies: Proxies = (),
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An `on_response_prepare` handler: it runs for every answer, also for errors that
    never reached a handler and for answers a middleware made. Everything it can know
    beforehand is built once: per answer it only sets the headers."""
    always = tuple(SECURITY_HEADERS.items())

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        for name, value in always:
            headers[name] = value
        if "Content-Security-Policy" not in headers:
            headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        # Without proxies of ours only TLS on this connection counts: no address to parse.
        if (request.secure or trusted_proxies) and served_over_https(request, trusted_proxies):
            headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY

    return add


class ClientBodyErrors(logging.Filter):
    """aiohttp logs a request the client sent broken (a bad gzip body, a body cut short,
    a malformed header) as an ERROR with tracebacks, though the answer (400) went out:
    anyone could fill the log without logging in. This turns such a record into one short
    WARNING line without traceback; any other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        cause = _client_side_cause(record.exc_info[1] if record.exc_info else None)
        if cause is not None:
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = "unreadable request from the client (%s); answered 400"
            record.args = (type(cause).__name__,)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _client_side_cause(error: BaseException | None) -> BaseException | None:
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, HttpProcessingError | RequestPayloadError):
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


_BODY_ERRORS = ClientBodyErrors()


def quiet_client_body_errors() -> None:
    """Install the filter on aiohttp's server logger (once per process)."""
    logger = logging.getLogger("aiohttp.server")
    if _BODY_ERRORS not in logger.filters:
        logger.addFilter(_BODY_ERRORS)


def hide_server_version() -> None:
    """Answers aiohttp makes before any application code runs (a request line or header
    it cannot parse: 400 text/plain) take its `Server` default, which names the Python
    and aiohttp versions, and pass no `on_response_prepare` handler. That default is a
    module constant; it is set for this process (only the server side reads it)."""
    web_response.SERVER_SOFTWARE = SERVER  # type: ignore[attr-defined]


# The browser's User-Agent, as a backend-for-frontend (the portal) passes it on: its own
# User-Agent header names itself, and stays so in the logs of the service it calls.
CLIENT_USER_AGENT_HEADER = "X-Client-User-Agent"
MAX_USER_AGENT_LENGTH = 512


def client_user_agent(request: web.Request, trusted_proxies: Proxies) -> str:
    """The caller's User-Agent: the one a trusted proxy passes on in X-Client-User-Agent,
    else the request's own. Only for display (a customer's list of devices)."""
    forwarded = request.headers.get(CLIENT_USER_AGENT_HEADER)
    if forwarded is not None and _is_trusted(request.remote or "", trusted_proxies):
        return forwarded[:MAX_USER_AGENT_LENGTH]
    return request.headers.get("User-Agent", "")[:MAX_USER_AGENT_LENGTH]


def _is_trusted(address: str, trusted: Proxies) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def new_application(
    cors_allowed_origins: Sequence[str] = (), *, trusted_proxies: Proxies = ()
) -> web.Application:
    """The base app; `cors_allowed_origins` (normalised, from the settings) lets those
    browser origins call it directly — without any, no CORS middleware is added;
    `trusted_proxies` may tell it that the client came over https (HSTS)."""
    quiet_client_body_errors()
    hide_server_version()
    edge = ApiEdge()
    middlewares: list[Middleware] = [edge]
    if cors_allowed_origins:
        # Inside the correlation middleware (preflights get an X-Request-ID too), outside
        # the problem middleware (error answers get the CORS headers too).
        middlewares = [
            correlation_middleware, cors_middleware(cors_allowed_origins), problem_middleware
        ]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    if not cors_allowed_origins:
        app[API_EDGE] = edge
    app.on_response_prepare.append(security_headers(trusted_proxies))
    return app
