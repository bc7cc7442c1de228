"""Several `portal-mailer serve` processes on one queue: work is shared, nothing is lost,
nothing is mailed twice but within the documented window (a crash between the SMTP
server's "250 accepted" and the database commit).

Each process is a real child started like in production, configured by environment
variables pointing at this test's database, queues and SMTP sink.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from portal_devtools.mailsink import MailSink, free_port
from portal_shared.events import Event
from tests.conftest import TEST_RETRY_DELAYS, AmqpNames
from tests.integration.test_mailer import (
    PORTAL,
    TEST_MAX_ATTEMPTS,
    Broker,
    broker_for,
    processed_mails,
    registration,
)
from tests.support import console_script, eventually

pytestmark = pytest.mark.integration

EVENTS = 500
CONCURRENCY = 8
DEADLINE = 45.0
PROBE_SECONDS = 10.0  # Prometheus's default scrape timeout


class MailerProcess:
    """One `portal-mailer serve` child; its log goes to a file shown when a test fails."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self._env = env | {"MAILER_PORT": str(self.port)}
        self.log = log_dir / f"{name}.log"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> MailerProcess:
        with self.log.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                console_script("portal-mailer"), "serve",
                env=self._env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )
        await eventually(self._ready, timeout=DEADLINE)
        return self

    async def _ready(self) -> bool:
        assert self._process is not None
        if self._process.returncode is not None:
            raise AssertionError(f"{self.name} exited:\n{self.log.read_text()}")
        return await self.get("/readyz") == 200

    async def get(self, path: str) -> int | str:
        # Longer than a scrape may take: /metrics asks the broker for queue depths first
        # (each hook bounded at 2 s), and under a loaded machine a 2 s client timeout
        # turned a slow scrape into a failed test.
        try:
            async with aiohttp.ClientSession() as http, http.get(
                f"http://127.0.0.1:{self.port}{path}", timeout=aiohttp.ClientTimeout(total=PROBE_SECONDS)
            ) as response:
                return response.status if path == "/readyz" else await response.text()
        except aiohttp.ClientError:
            return 0

    async def metric(self, name: str) -> float:
        """Sum of a metric's samples over all labels."""
        text = await self.get("/metrics")
        assert isinstance(text, str)
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith((f"{name}{{", f"{name} "))
        )

    def signal(self, number: int) -> None:
        assert self._process is not None
        self._process.send_signal(number)

    async def exited(self, timeout: float = DEADLINE) -> int:
        assert self._process is not None
        return await asyncio.wait_for(self._process.wait(), timeout)

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()


@pytest.fixture
async def replicas(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, tmp_path: Path
) -> AsyncIterator[ReplicaSet]:
    env = os.environ | {
        "MAILER_DATABASE_URL": database_url,
        "AMQP_URL": amqp_names.url,
        "EVENTS_EXCHANGE": amqp_names.exchange,
        "DEAD_LETTER_EXCHANGE": amqp_names.dead_letter_exchange,
        "MAILER_QUEUE": amqp_names.mailer_queue,
        "MAILER_DEAD_LETTER_QUEUE": amqp_names.mailer_dead_letter_queue,
        "SMTP_HOST": smtp_sink.host,
        "SMTP_PORT": str(smtp_sink.port),
        "PORTAL_BASE_URL": PORTAL,
        "MAILER_CONCURRENCY": str(CONCURRENCY),
        "MAILER_RETRY_DELAYS_SECONDS": ",".join(map(str, TEST_RETRY_DELAYS)),
        "MAILER_MAX_ATTEMPTS": str(TEST_MAX_ATTEMPTS),
        "BIND_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    replica_set = ReplicaSet(env, tmp_path)
    try:
        yield replica_set
    finally:
        await replica_set.stop_all()


class ReplicaSet:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self._env = env
        self._log_dir = log_dir
        self.started: list[MailerProcess] = []

    async def start(self, name: str) -> MailerProcess:
        process = MailerProcess(name, self._env, self._log_dir)
        self.started.append(process)
        return await process.start()

    async def stop_all(self) -> None:
        await asyncio.gather(*(process.stop() for process in self.started))


async def publish_all(broker: Broker, events: list[Event]) -> None:
    # Confirmed publishes, a batch at a time: as fast as auth's relay would publish.
    for start in range(0, len(events), 50):
        await asyncio.gather(*(broker.publish_event(e) for e in events[start:start + 50]))


def batch(prefix: str) -> list[Event]:
    return [registration(f"{prefix}{i}@example.de") for i in range(EVENTS)]


def recipients(sink: MailSink) -> Counter[str]:
    return Counter(mail.recipients[0] for mail in sink.mails)


async def settled(broker: Broker, names: AmqpNames, *alive: MailerProcess) -> bool:
    """Nothing left anywhere: the queue is empty and no replica holds a message."""
    ready, _ = await broker.queue_state(names.mailer_queue)
    in_flight = [await p.metric("mailer_messages_in_flight") for p in alive]
    return ready == 0 and not any(in_flight)


async def test_two_replicas_share_500_events_and_mail_each_exactly_once(
    replicas: ReplicaSet, amqp_names: AmqpNames, smtp_sink: MailSink, database_url: str
) -> None:
    first, second = await asyncio.gather(replicas.start("first"), replicas.start("second"))
    events = batch("pair")
    async with broker_for(amqp_names) as broker:
        await publish_all(broker, events)

        await smtp_sink.wait_for(lambda mails: len(mails) >= EVENTS, timeout=DEADLINE)
        await eventually(lambda: settled(broker, amqp_names, first, second), timeout=DEADLINE)

        sent = recipients(smtp_sink)
        assert len(sent) == EVENTS
        assert sent.most_common(1)[0][1] == 1, "a mail went out twice"
        assert len(smtp_sink.mails) == EVENTS
        shares = [await p.metric("mailer_mails_sent_total") for p in (first, second)]
        assert sum(shares) == EVENTS
        assert min(shares) > 0, f"one replica did all the work: {shares}"
    assert len(await processed_mails(database_url)) == EVENTS


async def test_a_replica_killed_mid_batch_loses_nothing(
    replicas: ReplicaSet, amqp_names: AmqpNames, smtp_sink: MailSink, database_url: str
) -> None:
    # The sink takes its time, so mails are in flight when the replica dies.
    smtp_sink.delay_seconds = 0.02
    doomed = await replicas.start("doomed")
    events = batch("kill")
    async with broker_for(amqp_names) as broker:
        await publish_all(broker, events)
        await smtp_sink.wait_for(lambda mails: len(mails) >= EVENTS // 4, timeout=DEADLINE)

        doomed.signal(signal.SIGKILL)
        assert await doomed.exited() == -signal.SIGKILL
        mailed_before_the_kill = len(recipients(smtp_sink))
        survivor = await replicas.start("survivor")

        await smtp_sink.wait_for(lambda _: len(recipients(smtp_sink)) == EVENTS, timeout=DEADLINE)
        await eventually(lambda: settled(broker, amqp_names, survivor), timeout=DEADLINE)

        assert mailed_before_the_kill < EVENTS, "the kill came too late to prove anything"
        sent = recipients(smtp_sink)
        assert len(sent) == EVENTS
        # A second copy only for what the SMTP server had accepted but the killed
        # replica had not yet committed: at most one per worker slot.
        duplicates = sum(sent.values()) - EVENTS
        assert 0 <= duplicates <= CONCURRENCY
        assert await survivor.metric("mailer_mails_sent_total") >= EVENTS - mailed_before_the_kill
        assert await broker.queue_state(amqp_names.mailer_dead_letter_queue) == (0, 0)
    assert len(await processed_mails(database_url)) == EVENTS


async def test_sigterm_finishes_the_mails_in_flight_and_leaves_the_rest_to_another_replica(
    replicas: ReplicaSet, amqp_names: AmqpNames, smtp_sink: MailSink, database_url: str
) -> None:
    smtp_sink.delay_seconds = 0.2
    leaving = await replicas.start("leaving")
    events = [registration(f"term{i}@example.de") for i in range(60)]
    async with broker_for(amqp_names) as broker:
        await publish_all(broker, events)
        await smtp_sink.wait_for(lambda mails: len(mails) >= CONCURRENCY, timeout=DEADLINE)

        leaving.signal(signal.SIGTERM)

        assert await leaving.exited() == 0
        log = leaving.log.read_text()
        assert "cancelled at shutdown" not in log and "not settled" not in log, log
        ready, consumers = await broker.queue_state(amqp_names.mailer_queue)
        assert consumers == 0
        assert len(smtp_sink.mails) + ready == len(events), "each message mailed or back in queue"
        assert ready > 0, "SIGTERM came too late to prove anything"

        taking_over = await replicas.start("taking-over")
        await smtp_sink.wait_for(lambda mails: len(mails) >= len(events), timeout=DEADLINE)
        await eventually(lambda: settled(broker, amqp_names, taking_over), timeout=DEADLINE)

        sent = recipients(smtp_sink)
        assert len(sent) == len(events)
        assert sum(sent.values()) == len(events), "a graceful stop must not cause duplicates"
    assert len(await processed_mails(database_url)) == len(events)

