"""FAQ application factory and lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from portal_faq import routes
from portal_faq.config import SCHEMA, FaqSettings
from portal_faq.keys import POOL, RELAY, SETTINGS
from portal_shared.db import create_pool, ping
from portal_shared.health import add_health_routes
from portal_shared.outbox import OutboxRelay, RelaySettings
from portal_shared.web import new_application


def create_app(settings: FaqSettings) -> web.Application:
    app = new_application()
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_outbox_relay)
    routes.setup(app)
    add_health_routes(app, {"database": _check_database, "broker": _check_broker})
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    app[POOL] = await create_pool(app[SETTINGS].faq_database_url, SCHEMA, "portal-faq")
    yield
    await app[POOL].close()


async def _outbox_relay(app: web.Application) -> AsyncIterator[None]:
    # Nothing is published yet; the contact form will write its events to the outbox.
    settings = app[SETTINGS]
    relay = OutboxRelay(
        app[POOL],
        settings.faq_database_url,
        RelaySettings(settings.amqp_url, settings.events_exchange, SCHEMA),
    )
    app[RELAY] = relay
    relay.start()
    yield
    await relay.stop()


async def _check_database(app: web.Application) -> None:
    await ping(app[POOL])


async def _check_broker(app: web.Application) -> None:
    if not app[RELAY].connected:
        raise ConnectionError("outbox relay is not connected to the broker")
