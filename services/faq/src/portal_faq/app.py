"""FAQ application factory and lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
from aiohttp import web

from portal_faq import keys, routes
from portal_faq.access import KeySet, SessionCheck, TokenVerifier
from portal_faq.cache import ContentWatcher, ResponseCache
from portal_faq.config import SCHEMA, SEARCH_PATH, FaqSettings
from portal_faq.contacts import Contacts
from portal_faq.editing import Editing
from portal_faq.indexing import SearchIndexHolder
from portal_faq.reading import Reader
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
    app[keys.SETTINGS] = settings
    app[keys.CACHE] = ResponseCache(settings.faq_cache_entries)
    registry = add_metrics(app)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_content_watcher)
    app.cleanup_ctx.append(_http_client)
    app.cleanup_ctx.append(_outbox_relay(OutboxMetrics(registry, SCHEMA)))
    app.cleanup_ctx.append(_services(clock))
    routes.setup(app)
    add_health_routes(app, {"database": _check_database, "broker": _check_broker}, registry)
    on_scrape(app, lambda: app[keys.RELAY].measure_backlog())
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    app[keys.POOL] = await create_pool(
        app[keys.SETTINGS].faq_database_url, SEARCH_PATH, "portal-faq"
    )
    yield
    await app[keys.POOL].close()


async def _content_watcher(app: web.Application) -> AsyncIterator[None]:
    watcher = ContentWatcher(app[keys.SETTINGS].faq_database_url, app[keys.CACHE])
    app[keys.WATCHER] = watcher
    task = asyncio.create_task(watcher.run(), name="faq-content-watcher")
    yield
    await stop_task(task)


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    session = aiohttp.ClientSession()
    app[keys.HTTP] = session
    key_set = KeySet(
        session,
        str(settings.auth_jwks_url),
        min_refresh=settings.auth_jwks_min_refresh_seconds,
        max_age=settings.auth_jwks_max_age_seconds,
    )
    app[keys.TOKENS] = TokenVerifier(key_set, settings.jwt_issuer, settings.jwt_audience)
    app[keys.SESSIONS] = SessionCheck(session, str(settings.auth_session_url))
    yield
    await session.close()


def _outbox_relay(metrics: OutboxMetrics):  # type: ignore[no-untyped-def]
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        settings = app[keys.SETTINGS]
        relay = OutboxRelay(
            app[keys.POOL],
            settings.faq_database_url,
            RelaySettings(settings.amqp_url, settings.events_exchange, SCHEMA),
            metrics,
        )
        app[keys.RELAY] = relay
        relay.start()
        yield
        await relay.stop()

    return lifecycle


def _services(clock: Clock):  # type: ignore[no-untyped-def]
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        pool, settings = app[keys.POOL], app[keys.SETTINGS]
        limiter = RateLimiter(pool, clock)
        app[keys.LIMITER] = limiter
        search_index = SearchIndexHolder(pool, app[keys.CACHE], settings.faq_search_in_memory)
        app[keys.SEARCH_INDEX] = search_index
        app[keys.READER] = Reader(pool, app[keys.CACHE], search_index)
        app[keys.EDITING] = Editing(pool, app[keys.CACHE])
        app[keys.CONTACTS] = Contacts(pool, limiter, settings.contact_max_per_hour)
        purging = asyncio.create_task(_purge_rate_limits(limiter, clock), name="faq-purge")
        yield
        await stop_task(purging)
        await search_index.close()

    return lifecycle


async def _purge_rate_limits(limiter: RateLimiter, clock: Clock) -> None:
    while True:
        try:
            await limiter.purge(clock() - RATE_LIMIT_RETENTION)
        except Exception as exc:  # noqa: BLE001 - retried at the next interval
            log.warning("purging old rate-limit rows failed: %s", exc)
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)


async def _check_database(app: web.Application) -> None:
    await ping(app[keys.POOL])


async def _check_broker(app: web.Application) -> None:
    if not app[keys.RELAY].connected:
        raise ConnectionError("outbox relay is not connected to the broker")
