"""HTTP metrics for Prometheus (`GET /metrics`): requests by route and status, latency.

Each application gets its own registry, so several apps in one process (tests) do not
collide, and a service can add its own collectors to it. Values that live elsewhere (the
outbox's backlog in PostgreSQL, a queue's depth in RabbitMQ) are read when Prometheus
scrapes: a service registers a scrape hook with `on_scrape`, which runs, bounded in time,
before the answer is rendered. A hook that fails or times out leaves its series out of
that answer rather than delaying or failing the scrape.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from portal_shared.problems import Handler

log = logging.getLogger(__name__)

ScrapeHook = Callable[[], Awaitable[None]]
# Well inside Prometheus's default scrape timeout (10 s).
SCRAPE_HOOK_TIMEOUT_SECONDS = 2.0

REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
_REQUESTS = web.AppKey("metrics_requests", Counter)
_LATENCY = web.AppKey("metrics_latency", Histogram)
_SCRAPE_HOOKS = web.AppKey("metrics_scrape_hooks", list[ScrapeHook])


def add_metrics(app: web.Application) -> CollectorRegistry:
    registry = CollectorRegistry()
    app[REGISTRY] = registry
    app[_SCRAPE_HOOKS] = []
    app[_REQUESTS] = Counter(
        "http_requests", "HTTP requests answered", ["method", "route", "status"], registry=registry
    )
    app[_LATENCY] = Histogram(
        "http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"],
        registry=registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    )
    app.middlewares.insert(0, _measuring(app[_REQUESTS], app[_LATENCY]))
    app.router.add_get("/metrics", _metrics)
    return registry


def on_scrape(app: web.Application, hook: ScrapeHook) -> None:
    """Run `hook` before each `/metrics` answer (after `add_metrics`)."""
    app[_SCRAPE_HOOKS].append(hook)


async def run_scrape_hooks(hooks: Sequence[ScrapeHook]) -> None:
    """Run the hooks concurrently, each bounded; a failure is logged, never raised."""
    results = await asyncio.gather(
        *(asyncio.wait_for(hook(), SCRAPE_HOOK_TIMEOUT_SECONDS) for hook in hooks),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, BaseException):
            log.warning("metrics not refreshed: %s: %s", type(result).__name__, result)


def _measuring(requests: Counter, latency: Histogram) -> Middleware:
    """The middleware counting and timing every request. Each (method, route, status)
    keeps its labelled series here: `labels()` checks and locks on every call, which cost
    more than a cached answer."""
    counted: dict[tuple[str, str, int], Counter] = {}
    timed: dict[tuple[str, str], Histogram] = {}

    @web.middleware
    async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            elapsed = perf_counter() - started
            # The route pattern, not the path: slugs and ids would make unbounded labels.
            info = request.match_info.route.resource
            route = info.canonical if info is not None else "unmatched"
            method = request.method
            key = (method, route, status)
            counter = counted.get(key)
            if counter is None:
                counter = counted[key] = requests.labels(method, route, str(status))
            counter.inc()
            histogram = timed.get(key[:2])
            if histogram is None:
                histogram = timed[key[:2]] = latency.labels(method, route)
            histogram.observe(elapsed)

    return measure


async def _metrics(request: web.Request) -> web.Response:
    await run_scrape_hooks(request.app[_SCRAPE_HOOKS])
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
