"""Auth application factory and lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from portal_auth import routes
from portal_auth.access_tokens import AccessTokens, load_private_key
from portal_auth.config import SCHEMA, AuthSettings
from portal_auth.keys import ACCESS_TOKENS, POOL, RELAY, SERVICE, SETTINGS
from portal_auth.passwords import Passwords
from portal_auth.service import AuthService, Clock, utc_now
from portal_shared.db import create_pool, ping
from portal_shared.health import add_health_routes
from portal_shared.outbox import OutboxRelay, RelaySettings
from portal_shared.web import new_application


def create_app(settings: AuthSettings, clock: Clock = utc_now, passwords: Passwords | None = None) -> web.Application:
    app = new_application()
    app[SETTINGS] = settings
    app[ACCESS_TOKENS] = AccessTokens(
        load_private_key(settings.jwt_private_key, settings.jwt_key_dir),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
    )
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_outbox_relay)
    app.cleanup_ctx.append(_service(clock, passwords))
    routes.setup(app)
    add_health_routes(app, {"database": _check_database, "broker": _check_broker})
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    app[POOL] = await create_pool(app[SETTINGS].auth_database_url, SCHEMA, "portal-auth")
    yield
    await app[POOL].close()


async def _outbox_relay(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    relay = OutboxRelay(
        app[POOL],
        settings.auth_database_url,
        RelaySettings(settings.amqp_url, settings.events_exchange, SCHEMA),
    )
    app[RELAY] = relay
    relay.start()
    yield
    await relay.stop()


def _service(clock: Clock, passwords: Passwords | None):  # type: ignore[no-untyped-def]
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        hasher = passwords or Passwords()
        app[SERVICE] = AuthService(app[POOL], hasher, app[ACCESS_TOKENS], app[SETTINGS], clock)
        yield
        if passwords is None:
            hasher.close()

    return lifecycle


async def _check_database(app: web.Application) -> None:
    await ping(app[POOL])


async def _check_broker(app: web.Application) -> None:
    if not app[RELAY].connected:
        raise ConnectionError("outbox relay is not connected to the broker")
