"""Auth application factory and lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from portal_auth import maintenance, routes
from portal_auth.access_tokens import AccessTokens, load_private_key, load_public_keys
from portal_auth.challenges import Challenges, load_hmac_key
from portal_auth.config import SCHEMA, AuthSettings
from portal_auth.context import AuthContext
from portal_auth.keys import CONTEXT, POOL, RELAY, SETTINGS
from portal_auth.passwords import Passwords
from portal_shared.clock import Clock, utc_now
from portal_shared.db import create_pool, ping
from portal_shared.health import add_health_routes
from portal_shared.metrics import add_metrics, on_scrape
from portal_shared.outbox import OutboxMetrics, OutboxRelay, RelaySettings
from portal_shared.ratelimit import RateLimiter
from portal_shared.tasks import stop_task
from portal_shared.web import new_application


def create_app(
    settings: AuthSettings, clock: Clock = utc_now, passwords: Passwords | None = None
) -> web.Application:
    app = new_application(settings.cors_allowed_origins, trusted_proxies=settings.trusted_proxies)
    app[SETTINGS] = settings
    access_tokens = _access_tokens(settings)
    challenges = _challenges(settings)
    registry = add_metrics(app)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_outbox_relay(OutboxMetrics(registry, SCHEMA)))
    app.cleanup_ctx.append(_context(access_tokens, challenges, clock, passwords))
    app.cleanup_ctx.append(_maintenance)
    routes.setup(app)
    add_health_routes(app, {"database": _check_database, "broker": _check_broker}, registry)
    on_scrape(app, lambda: app[RELAY].measure_backlog())
    return app


def _access_tokens(settings: AuthSettings) -> AccessTokens:
    secret = settings.jwt_private_key.get_secret_value() if settings.jwt_private_key else None
    return AccessTokens(
        load_private_key(secret, settings.jwt_key_dir),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        retired=load_public_keys(settings.jwt_retired_public_keys),
    )


def _challenges(settings: AuthSettings) -> Challenges:
    secret = settings.altcha_hmac_key.get_secret_value() if settings.altcha_hmac_key else None
    return Challenges(load_hmac_key(secret, settings.jwt_key_dir), settings.altcha_max_number)


async def _database(app: web.Application) -> AsyncIterator[None]:
    # Stateless: auth's connections keep no session state (its locks are transaction
    # locks; the outbox listens on a connection of its own), so a release skips asyncpg's
    # reset round trip.
    app[POOL] = await create_pool(
        app[SETTINGS].auth_database_url, SCHEMA, "portal-auth", max_size=20, stateless=True
    )
    yield
    await app[POOL].close()


def _outbox_relay(metrics: OutboxMetrics):  # type: ignore[no-untyped-def]
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        relay = OutboxRelay(
            app[POOL],
            settings.auth_database_url,
            RelaySettings(settings.amqp_url, settings.events_exchange, SCHEMA),
            metrics,
        )
        app[RELAY] = relay
        relay.start()
        yield
        await relay.stop()

    return lifecycle


def _context(access_tokens: AccessTokens, challenges: Challenges, clock: Clock, passwords: Passwords | None):  # type: ignore[no-untyped-def]
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        hasher = passwords or Passwords(workers=app[SETTINGS].password_hash_threads)
        app[CONTEXT] = AuthContext(
            pool=app[POOL], passwords=hasher, access_tokens=access_tokens,
            settings=app[SETTINGS], clock=clock, limiter=RateLimiter(app[POOL], clock),
            challenges=challenges,
        )
        yield
        if passwords is None:
            hasher.close()

    return lifecycle


async def _maintenance(app: web.Application) -> AsyncIterator[None]:
    context = app[CONTEXT]
    task = asyncio.create_task(
        maintenance.run_periodically(context.pool, context.settings, context.clock),
        name="auth-maintenance",
    )
    yield
    await stop_task(task)


async def _check_database(app: web.Application) -> None:
    await ping(app[POOL])


async def _check_broker(app: web.Application) -> None:
    if not app[RELAY].connected:
        raise ConnectionError("outbox relay is not connected to the broker")
