"""FAQ application factory and lifecycle: the pool, the outbox relay, then the one
context every use case works with (`context.FaqContext`) and the tasks that keep it
current."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
from aiohttp import web

from portal_faq import routes
from portal_faq.access import KeySet, SessionCheck, TokenVerifier
from portal_faq.cache import ContentWatcher, ResponseCache
from portal_faq.config import SCHEMA, SEARCH_PATH, FaqSettings
from portal_faq.context import FaqContext
from portal_faq.indexing import SearchIndexHolder
from portal_faq.keys import CONTEXT, POOL, RELAY, SETTINGS
from portal_shared.clock import Clock, utc_now
from portal_shared.db import create_pool, ping
from portal_shared.health import add_health_routes
from portal_shared.metrics import add_metrics, on_scrape
from portal_shared.outbox import OutboxMetrics, OutboxRelay, RelaySettings
from portal_shared.ratelimit import RateLimiter
from portal_shared.tasks import stop_task
from portal_shared.web import new_application

log = logging.getLogger(__name__)

# Rate-limit rows name client addresses: keep them no longer than the longest window.
RATE_LIMIT_RETENTION = timedelta(days=1)
PURGE_INTERVAL_SECONDS = 3600


def create_app(settings: FaqSettings, clock: Clock = utc_now) -> web.Application:
    app = new_application(settings.cors_allowed_origins, trusted_proxies=settings.trusted_proxies)
    app[SETTINGS] = settings
    registry = add_metrics(app)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_outbox_relay(OutboxMetrics(registry, SCHEMA)))
    app.cleanup_ctx.append(_context(clock))
    app.cleanup_ctx.append(_background)
    routes.setup(app)
    add_health_routes(app, {"database": _check_database, "broker": _check_broker}, registry)
    on_scrape(app, lambda: app[RELAY].measure_backlog())
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    app[POOL] = await create_pool(app[SETTINGS].faq_database_url, SEARCH_PATH, "portal-faq")
    yield
    await app[POOL].close()


def _outbox_relay(metrics: OutboxMetrics):  # type: ignore[no-untyped-def]
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        relay = OutboxRelay(
            app[POOL],
            settings.faq_database_url,
            RelaySettings(settings.amqp_url, settings.events_exchange, SCHEMA),
            metrics,
        )
        app[RELAY] = relay
        relay.start()
        yield
        await relay.stop()

    return lifecycle


def _context(clock: Clock):  # type: ignore[no-untyped-def]
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        pool, settings = app[POOL], app[SETTINGS]
        cache = ResponseCache(settings.faq_cache_entries)
        http = aiohttp.ClientSession()
        key_set = KeySet(
            http,
            str(settings.auth_jwks_url),
            min_refresh=settings.auth_jwks_min_refresh_seconds,
            max_age=settings.auth_jwks_max_age_seconds,
        )
        search_index = SearchIndexHolder(pool, cache, settings.faq_search_in_memory)
        app[CONTEXT] = FaqContext(
            settings=settings,
            pool=pool,
            clock=clock,
            cache=cache,
            watcher=ContentWatcher(settings.faq_database_url, cache),
            search_index=search_index,
            tokens=TokenVerifier(key_set, settings.jwt_issuer, settings.jwt_audience),
            sessions=SessionCheck(http, str(settings.auth_session_url)),
            limiter=RateLimiter(pool, clock),
        )
        yield
        await http.close()

    return lifecycle


async def _background(app: web.Application) -> AsyncIterator[None]:
    """The content listener (it switches the cache on, and so builds the search index)
    and the purge of old rate-limit rows."""
    ctx = app[CONTEXT]
    watching = asyncio.create_task(ctx.watcher.run(), name="faq-content-watcher")
    purging = asyncio.create_task(_purge_rate_limits(ctx), name="faq-purge")
    yield
    await stop_task(purging)
    # The index first: the listener's stop invalidates once more, which must not start
    # another build.
    await ctx.search_index.close()
    await stop_task(watching)


async def _purge_rate_limits(ctx: FaqContext) -> None:
    while True:
        try:
            await ctx.limiter.purge(ctx.clock() - RATE_LIMIT_RETENTION)
        except Exception as exc:  # noqa: BLE001 - retried at the next interval
            log.warning("purging old rate-limit rows failed: %s", exc)
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)


async def _check_database(app: web.Application) -> None:
    await ping(app[POOL])


async def _check_broker(app: web.Application) -> None:
    if not app[RELAY].connected:
        raise ConnectionError("outbox relay is not connected to the broker")
