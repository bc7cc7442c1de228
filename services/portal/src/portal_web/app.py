"""Portal application factory and lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
from aiohttp import web

from portal_shared.clock import Clock, utc_now
from portal_shared.db import create_pool, ping
from portal_shared.health import add_health_routes
from portal_shared.metrics import add_metrics
from portal_shared.tasks import stop_task
from portal_shared.web import MAX_BODY_BYTES, correlation_middleware
from portal_web import edge, rendering, routes
from portal_web.config import SCHEMA, PortalSettings
from portal_web.context import PortalContext
from portal_web.domain import session as session_rules
from portal_web.keys import CONTEXT, SETTINGS
from portal_web.repository import sessions as repo
from portal_web.upstream import Api, Apis, PublicAnswers

log = logging.getLogger(__name__)
PURGE_INTERVAL_SECONDS = 600


def create_app(settings: PortalSettings, clock: Clock = utc_now) -> web.Application:
    app = web.Application(
        middlewares=[correlation_middleware, edge.error_pages, edge.session_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_context(clock))
    app.cleanup_ctx.append(_purge_ended_sessions)
    app.on_response_prepare.append(edge.security_headers)
    rendering.setup(app)
    routes.setup(app)
    add_health_routes(app, {"database": _check_database}, add_metrics(app))
    return app


def _context(clock: Clock):  # type: ignore[no-untyped-def]
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        # The portal's connections carry no session state, so releasing one needs no reset.
        # Its rows are sessions: a crash may lose the last fraction of a second of them
        # (a customer logs in again), so commits need not wait for the disk.
        pool = await create_pool(
            settings.portal_database_url, SCHEMA, "portal-web", max_size=10,
            stateless=True, durable_commits=False,
        )
        timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout_seconds)
        http = aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=100))
        app[CONTEXT] = PortalContext(
            settings=settings,
            pool=pool,
            apis=Apis(
                auth=Api("auth", http, str(settings.auth_api_url), PublicAnswers()),
                faq=Api("faq", http, str(settings.faq_api_url), PublicAnswers()),
            ),
            clock=clock,
        )
        yield
        await http.close()
        await pool.close()

    return lifecycle


async def _purge_ended_sessions(app: web.Application) -> AsyncIterator[None]:
    """Sessions past their idle or absolute end are deleted here, not only when their
    cookie comes back (most never do)."""

    async def run() -> None:
        while True:
            ctx = app[CONTEXT]
            now = ctx.clock()
            # A database hiccup only postpones the clean-up to the next round.
            with contextlib.suppress(OSError, asyncio.TimeoutError, asyncpg.PostgresError):
                removed = await repo.purge_ended(ctx.pool, *session_rules.purge_cutoffs(now, ctx.lifetime))
                if removed:
                    log.info("removed %d ended sessions", removed)
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)

    task = asyncio.create_task(run(), name="portal-session-purge")
    yield
    await stop_task(task)


async def _check_database(app: web.Application) -> None:
    await ping(app[CONTEXT].pool)

