"""`GET /healthz` (the process is alive) and `GET /readyz` (its dependencies answer)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Check = Callable[[web.Application], Awaitable[None]]
READINESS_CHECKS = web.AppKey("readiness_checks", dict[str, Check])
CHECK_TIMEOUT_SECONDS = 2.0


def add_health_routes(app: web.Application, checks: dict[str, Check]) -> None:
    """Register the probes; each check raises (or times out) when its dependency is down."""
    app[READINESS_CHECKS] = checks
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks = request.app[READINESS_CHECKS]
    results = await asyncio.gather(*(_run(request.app, c) for c in checks.values()))
    report = dict(zip(checks, results, strict=True))
    ready = all(result == "ok" for result in results)
    return web.json_response(
        {"status": "ok" if ready else "unavailable", "checks": report},
        status=200 if ready else 503,
    )


async def _run(app: web.Application, check: Check) -> str:
    try:
        await asyncio.wait_for(check(app), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - a failing dependency is a report, not an error
        log.warning("readiness check failed: %s", type(exc).__name__)
        return "unavailable"
    return "ok"
