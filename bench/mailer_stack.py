"""What the mailer benchmark runs against: a database and queue names of its own (removed
afterwards, like the tests' fixtures do), and `portal-mailer serve` replicas as child
processes configured through the environment, as in production."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import aio_pika
import aiohttp
import asyncpg

from portal_devtools.mailsink import free_port
from portal_mailer.config import MailerSettings
from portal_mailer.topology import owned_queue_names
from portal_shared.amqp import declare_events_exchange
from portal_shared.events import Event, encode
from portal_shared.migrations import migrate

ADMIN_DSN = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PORTAL = "http://portal.bench"
START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Stack:
    database_url: str
    prefix: str
    log_dir: Path

    def settings(self, **overrides: object) -> MailerSettings:
        fields: dict = {
            "mailer_database_url": self.database_url,
            "amqp_url": AMQP_URL,
            "events_exchange": f"{self.prefix}.events",
            "dead_letter_exchange": f"{self.prefix}.dead-letters",
            "mailer_queue": f"{self.prefix}.mailer.events",
            "mailer_dead_letter_queue": f"{self.prefix}.mailer.dead-letters",
            "portal_base_url": PORTAL,
        }
        return MailerSettings(**(fields | overrides))


@asynccontextmanager
async def bench_stack(log_dir: Path) -> AsyncIterator[Stack]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    database = prefix.replace("-", "_")
    base, _, _ = ADMIN_DSN.rpartition("/")
    await _admin(f'CREATE DATABASE "{database}"')
    stack = Stack(f"{base}/{database}", prefix, log_dir)
    try:
        await migrate(stack.database_url, "mailer", "portal_mailer")
        yield stack
    finally:
        await _delete_amqp(stack.settings())
        await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _delete_amqp(settings: MailerSettings) -> None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for queue in owned_queue_names(settings):
            await channel.queue_delete(queue)
        for exchange in (settings.events_exchange, settings.dead_letter_exchange):
            await channel.exchange_delete(exchange)


class Publisher:
    """Publishes events the way auth's outbox relay does: persistent, confirmed, mandatory."""

    def __init__(self, settings: MailerSettings) -> None:
        self._settings = settings

    async def __aenter__(self) -> Self:
        self._connection = await aio_pika.connect(self._settings.amqp_url)
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await declare_events_exchange(channel, self._settings.events_exchange)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def publish(self, events: list[Event], in_parallel: int = 100) -> None:
        for start in range(0, len(events), in_parallel):
            await asyncio.gather(*(self._one(e) for e in events[start:start + in_parallel]))

    async def _one(self, event: Event) -> None:
        message = aio_pika.Message(
            encode(event), content_type="application/json", message_id=str(event.event_id),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._exchange.publish(message, event.routing_key, mandatory=True)


class Replica:
    """One `portal-mailer serve` child process."""

    def __init__(self, name: str, settings: MailerSettings, log_dir: Path, smtp: tuple[str, int]):
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        self._env = os.environ | _environment(settings) | {
            "SMTP_HOST": smtp[0], "SMTP_PORT": str(smtp[1]), "MAILER_PORT": str(self.port),
            "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "INFO", "LOG_FORMAT": "json",
        }
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> Replica:
        with self.log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "portal-mailer"), "serve",
                env=self._env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_SECONDS
        async with aiohttp.ClientSession() as http:
            while not await _ready(http, self.port):
                if self._process.returncode is not None or asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"mailer replica did not start; see {self.log}")
                await asyncio.sleep(0.1)
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), 30)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()


def _environment(settings: MailerSettings) -> dict[str, str]:
    return {
        "MAILER_DATABASE_URL": settings.mailer_database_url,
        "AMQP_URL": settings.amqp_url,
        "EVENTS_EXCHANGE": settings.events_exchange,
        "DEAD_LETTER_EXCHANGE": settings.dead_letter_exchange,
        "MAILER_QUEUE": settings.mailer_queue,
        "MAILER_DEAD_LETTER_QUEUE": settings.mailer_dead_letter_queue,
        "MAILER_CONCURRENCY": str(settings.mailer_concurrency),
        "PORTAL_BASE_URL": str(settings.portal_base_url),
    }


async def _ready(http: aiohttp.ClientSession, port: int) -> bool:
    try:
        async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


@asynccontextmanager
async def replicas(
    count: int, settings: MailerSettings, log_dir: Path, smtp: tuple[str, int]
) -> AsyncIterator[list[Replica]]:
    started = [Replica(f"replica-{i}", settings, log_dir, smtp) for i in range(count)]
    try:
        await asyncio.gather(*(replica.start() for replica in started))
        yield started
    finally:
        await asyncio.gather(*(replica.stop() for replica in started))
