"""Fixtures that give each test real infrastructure of its own.

- PostgreSQL: every service's migrations run once into a template database; each test
  that asks for `database_url` gets a fresh copy (CREATE DATABASE … TEMPLATE), dropped after.
- RabbitMQ: `amqp_names` gives a test its own exchange and queue names, deleted after.
- SMTP: `smtp_sink` is a real aiosmtpd server on a free port.

Under pytest-xdist (`make test` runs `-n`) each worker is a process of its own with its own
session: its own template database, and every name below carries the worker's id (`gw0`,
`gw1`, …; `main` without xdist) besides its random part, so whose database or queue a
leftover is can be told at a glance.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import aio_pika
import asyncpg
import pytest

from portal_devtools.mailsink import MailSink
from portal_mailer.config import MailerSettings
from portal_mailer.topology import retry_queue_name
from portal_shared.migrations import migrate

ADMIN_DSN = os.environ.get("TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

# The pytest-xdist worker this process is ("gw0", …), "main" when the run is not distributed.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

DEFAULT_RETRY_DELAYS = MailerSettings.model_fields["mailer_retry_delays_seconds"].default
# The mailer tests' pauses between attempts (fractions of a second), and the one longer
# pause a test looks at; their delay queues are deleted with the test's other queues.
TEST_RETRY_DELAYS = (0.2, 0.4)
_EVERY_TEST_DELAY = (*DEFAULT_RETRY_DELAYS, *TEST_RETRY_DELAYS, 1.5)

# (schema, package) of every service; a package without migrations yet is skipped.
SERVICE_SCHEMAS = [
    ("auth", "portal_auth"), ("mailer", "portal_mailer"), ("faq", "portal_faq"), ("portal", "portal_web"),
]


def dsn_for(database: str) -> str:
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _build_template(name: str) -> None:
    await _admin(f'CREATE DATABASE "{name}"')
    for schema, package in SERVICE_SCHEMAS:
        try:
            await migrate(dsn_for(name), schema, package)
        except (ModuleNotFoundError, FileNotFoundError):
            continue
    await _after_migrate_hooks(dsn_for(name))


async def _after_migrate_hooks(dsn: str) -> None:
    """First content loaded by `migrate` (the FAQ seed), so tests see what users see."""
    try:
        from portal_faq.seed import load_seed_if_empty
    except ImportError:
        return
    await load_seed_if_empty(dsn)


@pytest.fixture(scope="session")
def template_database() -> Iterator[str]:
    name = f"portal_tpl_{WORKER}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_build_template(name))
    yield name
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(template_database: str) -> Iterator[str]:
    name = f"portal_test_{WORKER}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield dsn_for(name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class AmqpNames:
    url: str
    exchange: str
    dead_letter_exchange: str
    mailer_queue: str
    mailer_dead_letter_queue: str


async def _delete_amqp(names: AmqpNames) -> None:
    retry_queues = {retry_queue_name(names.mailer_queue, d) for d in _EVERY_TEST_DELAY}
    connection = await aio_pika.connect(names.url)
    async with connection:
        channel = await connection.channel()
        for queue in (names.mailer_queue, names.mailer_dead_letter_queue, *retry_queues):
            await channel.queue_delete(queue)
        for exchange in (names.exchange, names.dead_letter_exchange):
            await channel.exchange_delete(exchange)


@pytest.fixture
def amqp_names() -> Iterator[AmqpNames]:
    prefix = f"test-{WORKER}-{uuid.uuid4().hex[:8]}"
    names = AmqpNames(
        url=AMQP_URL,
        exchange=f"{prefix}.events",
        dead_letter_exchange=f"{prefix}.dead-letters",
        mailer_queue=f"{prefix}.mailer.events",
        mailer_dead_letter_queue=f"{prefix}.mailer.dead-letters",
    )
    yield names
    asyncio.run(_delete_amqp(names))


@pytest.fixture
def smtp_sink() -> Iterator[MailSink]:
    sink = MailSink().start()
    yield sink
    sink.stop()
