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
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator, Sequence
from itertools import accumulate
from time import perf_counter

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from portal_shared.problems import Handler
from portal_shared.web import API_EDGE

log = logging.getLogger(__name__)

ScrapeHook = Callable[[], Awaitable[None]]
# Well inside Prometheus's default scrape timeout (10 s).
SCRAPE_HOOK_TIMEOUT_SECONDS = 2.0

REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_SCRAPE_HOOKS = web.AppKey("metrics_scrape_hooks", list[ScrapeHook])


def add_metrics(app: web.Application) -> CollectorRegistry:
    registry = CollectorRegistry()
    app[REGISTRY] = registry
    app[_SCRAPE_HOOKS] = []
    http = HttpMetrics(LATENCY_BUCKETS)
    registry.register(http)
    edge = app.get(API_EDGE)
    if edge is not None:
        edge.observer = http  # counted in the API's one edge layer
    else:
        app.middlewares.insert(0, _measuring(http))
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


class HttpMetrics:
    """`http_requests_total` by method, route and status, and the histogram
    `http_request_duration_seconds` by method and route, counted in plain integers and
    handed to Prometheus only when it scrapes. prometheus_client's own Counter and
    Histogram take a lock and check their labels on every update: they cost more than a
    cached FAQ answer. The event loop is the only writer, so no lock is needed."""

    def __init__(self, buckets: Sequence[float]) -> None:
        self._bounds = tuple(float(b) for b in buckets)
        self.requests: dict[tuple[str, str, int], int] = {}
        # (method, route) -> [count per bucket (the last: above every bound), sum]
        self._latency: dict[tuple[str, str], tuple[list[int], list[float]]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        latency = self._latency.get(key[:2])
        if latency is None:
            latency = self._latency[key[:2]] = ([0] * (len(self._bounds) + 1), [0.0])
        latency[0][bisect_left(self._bounds, seconds)] += 1
        latency[1][0] += seconds

    def observe_request(self, request: web.Request, status: int, seconds: float) -> None:
        self.observe(request.method, _route(request), status, seconds)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "http_requests", "HTTP requests answered", labels=["method", "route", "status"]
        )
        for (method, route, status), count in list(self.requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "http_request_duration_seconds", "Time to answer an HTTP request",
            labels=["method", "route"],
        )
        for (method, route), (counts, total) in list(self._latency.items()):
            cumulative = list(accumulate(counts))
            buckets = [(_bound(b), n) for b, n in zip(self._bounds, cumulative, strict=False)]
            buckets.append(("+Inf", cumulative[-1]))
            latency.add_metric([method, route], buckets, total[0])
        yield latency


def _bound(value: float) -> str:
    """A bucket's `le` label as prometheus_client writes it (0.005, 1.0, 2.5)."""
    return repr(float(value))


def _measuring(http: HttpMetrics) -> Middleware:
    """The middleware counting and timing every request."""

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
            http.observe_request(request, status, perf_counter() - started)

    return measure


def _route(request: web.Request) -> str:
    """The route pattern, not the path: slugs and ids would make unbounded labels."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


async def _metrics(request: web.Request) -> web.Response:
    await run_scrape_hooks(request.app[_SCRAPE_HOOKS])
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
