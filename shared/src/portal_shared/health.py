"""`GET /healthz` (the process is alive) and `GET /readyz` (its dependencies answer).

With a metrics registry, every `/readyz` is also counted per check and outcome, the last
outcome is a gauge, and a check whose outcome differs from its previous one counts a
change. The kubelet asks every few seconds, so a dependency that comes and goes shows as
a steady rise of `readiness_check_changes_total` even when Prometheus, scraping less
often, only ever sees the gauge at 1.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

log = logging.getLogger(__name__)

Check = Callable[[web.Application], Awaitable[None]]
READINESS_CHECKS = web.AppKey("readiness_checks", dict[str, Check])
CHECK_TIMEOUT_SECONDS = 2.0
OUTCOMES = ("ok", "unavailable")


class NotReady(Exception):
    """A failed check that knows why and what an operator should do: `/readyz` shows the
    reason and hint under `problems` (never secrets or server texts; they are public to
    whoever can reach the port)."""

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(f"{reason}: {hint}")
        self.reason = reason
        self.hint = hint


class ReadinessMetrics:
    def __init__(self, registry: CollectorRegistry, checks: list[str]) -> None:
        self.results = Counter(
            "readiness_checks", "Readiness check results (each /readyz runs every check).",
            ["check", "outcome"], registry=registry,
        )
        self.up = Gauge(
            "readiness_check_up", "1 if the check passed at the last /readyz, 0 if it failed.",
            ["check"], registry=registry,
        )
        self.changes = Counter(
            "readiness_check_changes",
            "Times a check's outcome differed from its previous one; a fast rise is flapping.",
            ["check"], registry=registry,
        )
        self._last: dict[str, str] = {}
        for check in checks:  # counters exist from the start, so increase() sees the first step
            self.changes.labels(check)
            for outcome in OUTCOMES:
                self.results.labels(check, outcome)

    def record(self, check: str, outcome: str) -> None:
        self.results.labels(check, outcome).inc()
        self.up.labels(check).set(1 if outcome == "ok" else 0)
        previous = self._last.get(check)
        if previous is not None and previous != outcome:
            self.changes.labels(check).inc()
        self._last[check] = outcome


_READINESS_METRICS = web.AppKey("readiness_metrics", ReadinessMetrics)


def add_health_routes(
    app: web.Application, checks: dict[str, Check], registry: CollectorRegistry | None = None
) -> None:
    """Register the probes; each check raises (or times out) when its dependency is down.
    With `registry`, the outcomes are exported as metrics (see the module docstring)."""
    app[READINESS_CHECKS] = checks
    if registry is not None:
        app[_READINESS_METRICS] = ReadinessMetrics(registry, list(checks))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks = request.app[READINESS_CHECKS]
    results = await asyncio.gather(*(_run(request.app, c) for c in checks.values()))
    report = {check: outcome for check, (outcome, _) in zip(checks, results, strict=True)}
    problems = {
        check: {"reason": problem.reason, "hint": problem.hint}
        for check, (_, problem) in zip(checks, results, strict=True)
        if problem is not None
    }
    metrics = request.app.get(_READINESS_METRICS)
    if metrics is not None:
        for check, outcome in report.items():
            metrics.record(check, outcome)
    ready = all(outcome == "ok" for outcome in report.values())
    body: dict[str, object] = {"status": "ok" if ready else "unavailable", "checks": report}
    if problems:
        body["problems"] = problems
    return web.json_response(body, status=200 if ready else 503)


async def _run(app: web.Application, check: Check) -> tuple[str, NotReady | None]:
    try:
        await asyncio.wait_for(check(app), CHECK_TIMEOUT_SECONDS)
    except NotReady as exc:
        log.warning("readiness check failed: %s", exc)
        return "unavailable", exc
    except Exception as exc:  # noqa: BLE001 - a failing dependency is a report, not an error
        log.warning("readiness check failed: %s", type(exc).__name__)
        return "unavailable", None
    return "ok", None
