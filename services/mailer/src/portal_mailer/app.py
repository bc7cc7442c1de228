"""Mailer application factory and lifecycle.

The HTTP side is only health and metrics; the work is the queue consumer, started and
stopped with the application.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from email.utils import parseaddr

from aiohttp import web

from portal_mailer.config import SCHEMA, MailerSettings
from portal_mailer.consumer import PREFETCH_PER_SLOT, MailConsumer
from portal_mailer.delivery import MailDelivery
from portal_mailer.keys import CONSUMER, METRICS, PAUSE, POOL, SETTINGS, SMTP, SMTP_READINESS
from portal_mailer.metrics import MailerMetrics
from portal_mailer.pause import DeliveryPause, Problem
from portal_mailer.smtp import SmtpPool, SmtpReadiness, SmtpSetupError, probe
from portal_shared.db import create_pool, ping
from portal_shared.email_address import smtp_form
from portal_shared.health import NotReady, add_health_routes
from portal_shared.web import new_application

PROGRAM = "portal-mailer"


def create_app(settings: MailerSettings) -> web.Application:
    app = new_application(trusted_proxies=settings.trusted_proxies)
    app[SETTINGS] = settings
    app[METRICS] = MailerMetrics()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_smtp)
    app.cleanup_ctx.append(_consumer)
    add_health_routes(
        app,
        {"database": _check_database, "broker": _check_broker, "smtp": _check_smtp},
        app[METRICS].registry,
    )
    app[METRICS].scrape_hooks.append(lambda: app[CONSUMER].measure_queues())
    app.router.add_get("/metrics", app[METRICS].handle)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # Every message in hand holds a connection from its claim to its commit (the
    # prefetch: PREFETCH_PER_SLOT per SMTP connection); one more for /readyz.
    # Stateless: the mailer sets no session state, so a released connection needs no
    # `RESET ALL; UNLISTEN *; …` round trip (one per mail otherwise).
    app[POOL] = await create_pool(
        settings.mailer_database_url, SCHEMA, PROGRAM, max_size=PREFETCH_PER_SLOT * settings.mailer_concurrency + 1,
        stateless=True,
    )
    yield
    await app[POOL].close()


async def _smtp(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[SMTP] = SmtpPool(settings, size=settings.mailer_concurrency)
    app[SMTP_READINESS] = SmtpReadiness(settings, app[SMTP])
    # While paused, a trial transaction to the support address (which every replica
    # must be able to mail) also finds what a login alone does not (see `probe`).
    trial = (parseaddr(settings.mail_from)[1], smtp_form(settings.support_email))
    app[PAUSE] = DeliveryPause(
        lambda: probe(settings, envelope=trial), app[METRICS],
        on_resume=app[SMTP_READINESS].forget,
    )
    yield
    await app[PAUSE].close()
    await app[SMTP].close()


async def _consumer(app: web.Application) -> AsyncIterator[None]:
    delivery = MailDelivery(app[SETTINGS], app[POOL], app[SMTP], app[METRICS])
    consumer = MailConsumer(app[SETTINGS], delivery, app[METRICS], app[PAUSE])
    app[CONSUMER] = consumer
    task = asyncio.create_task(consumer.run(), name="mail-consumer")
    yield
    consumer.stop()
    try:
        # The consumer bounds its own drain; this only guards against a hung connect.
        await asyncio.wait_for(asyncio.shield(task), consumer.drain_seconds + 15)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _check_database(app: web.Application) -> None:
    await ping(app[POOL])


async def _check_broker(app: web.Application) -> None:
    if not app[CONSUMER].consuming:
        raise ConnectionError("the mail consumer is not consuming from the broker")


async def _check_smtp(app: web.Application) -> None:
    """Paused: the reason and hint (the pause probes the server itself). Otherwise the
    readiness probe; one refusing our setup pauses delivery before any mail tries."""
    pause = app[PAUSE]
    if pause.problem is None:
        try:
            await app[SMTP_READINESS].check()
        except SmtpSetupError as exc:
            pause.hold(Problem.of(exc))
    if pause.problem is not None:
        raise NotReady(pause.problem.reason, pause.problem.hint)
