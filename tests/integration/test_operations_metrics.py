"""What operators watch, read from the real `/metrics` of running services: the outboxes'
backlog, the mailer's queues and dead letters, readiness outcomes and their changes; and
every metric an alert rule or a dashboard panel names is one the services export."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import aio_pika
import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from portal_auth.app import create_app as create_auth_app
from portal_auth.config import AuthSettings
from portal_auth.keys import POOL
from portal_auth.passwords import Passwords
from portal_devtools.mailsink import MailSink
from portal_faq.app import create_app as create_faq_app
from portal_faq.config import FaqSettings
from portal_mailer.app import create_app as create_mailer_app
from portal_shared.events import encode
from tests.conftest import AmqpNames
from tests.integration.test_mailer import (
    Broker,
    broker_for,
    mailer_settings_for,
    registration,
    running_mailer,
)
from tests.monitoring import (
    dashboard_metric_names,
    exported_sample_names,
    prometheus_own_series,
    rule_metric_names,
    samples,
)
from tests.support import TcpProxy, eventually, running

pytestmark = pytest.mark.integration

UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1/"


def auth_settings_for(database_url: str, names: AmqpNames, key_dir: Path) -> AuthSettings:
    return AuthSettings(
        auth_database_url=database_url, amqp_url=names.url, events_exchange=names.exchange,
        jwt_key_dir=key_dir,
    )


def faq_settings_for(database_url: str, names: AmqpNames) -> FaqSettings:
    return FaqSettings(
        faq_database_url=database_url, amqp_url=names.url, events_exchange=names.exchange
    )


async def scrape(client: TestClient) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    return await response.text()


async def value(client: TestClient, name: str, **labels: str) -> float | None:
    """The sample `name{labels…}` (other labels ignored; exactly one must match), or None."""
    found = [v for sample_labels, v in samples(await scrape(client), name)
             if all(sample_labels.get(k) == want for k, want in labels.items())]
    assert len(found) <= 1, f"{name}{labels} is ambiguous: {found}"
    return found[0] if found else None


async def insert_outbox_rows(database_url: str, schema: str, count: int, age_seconds: int) -> None:
    """Rows as `enqueue` writes them, made `age_seconds` old."""
    conn = await asyncpg.connect(database_url)
    try:
        for _ in range(count):
            event = registration(f"{uuid4().hex[:8]}@example.de")
            await conn.execute(
                f"INSERT INTO {schema}.outbox (event_id, routing_key, body, created_at)"
                " VALUES ($1, $2, $3, now() - make_interval(secs => $4))",
                event.event_id, event.routing_key, encode(event), age_seconds,
            )
    finally:
        await conn.close()


# --- the outbox ----------------------------------------------------------------------


@pytest.mark.parametrize("service", ["auth", "faq"])
async def test_the_outbox_backlog_and_its_oldest_row_are_exported(
    service: str, database_url: str, amqp_names: AmqpNames, tmp_path: Path, passwords: Passwords
) -> None:
    down = dataclasses.replace(amqp_names, url=UNREACHABLE_BROKER)
    app = (
        create_auth_app(auth_settings_for(database_url, down, tmp_path), passwords=passwords)
        if service == "auth" else create_faq_app(faq_settings_for(database_url, down))
    )
    async with running(app) as client:
        assert await value(client, "outbox_pending_events", outbox=service) == 0
        assert await value(client, "outbox_oldest_event_age_seconds", outbox=service) == 0

        await insert_outbox_rows(database_url, service, count=3, age_seconds=90)

        assert await value(client, "outbox_pending_events", outbox=service) == 3
        age = await value(client, "outbox_oldest_event_age_seconds", outbox=service)
        assert age is not None and 90 <= age < 90 + 60
        assert await value(client, "outbox_events_published_total", outbox=service) == 0


async def test_published_and_unroutable_events_are_counted(
    database_url: str, amqp_names: AmqpNames, tmp_path: Path, passwords: Passwords
) -> None:
    settings = auth_settings_for(database_url, amqp_names, tmp_path)
    async with running(create_auth_app(settings, passwords=passwords)) as client:
        await insert_outbox_rows(database_url, "auth", count=2, age_seconds=0)

        # No queue is bound yet: the broker returns the events, and they stay.
        async def returned() -> bool:
            return (await value(client, "outbox_events_unroutable_total", outbox="auth") or 0) >= 2

        await eventually(returned, timeout=15)
        assert await value(client, "outbox_pending_events", outbox="auth") == 2

        connection = await aio_pika.connect(amqp_names.url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(amqp_names.exchange)
            # Exclusive: gone with this connection.
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, "#")

            async def published() -> bool:
                return await value(client, "outbox_events_published_total", outbox="auth") == 2

            # The postponed rows come due again after their back-off (2 s at first).
            await eventually(published, timeout=30)
            assert await value(client, "outbox_pending_events", outbox="auth") == 0


async def test_without_the_database_the_backlog_is_left_out_not_made_up(
    amqp_names: AmqpNames, tmp_path: Path, passwords: Passwords, database_url: str
) -> None:
    settings = auth_settings_for(database_url, amqp_names, tmp_path)
    app = create_auth_app(settings, passwords=passwords)
    async with running(app) as client:
        assert await value(client, "outbox_pending_events", outbox="auth") == 0
        await app[POOL].close()
        text = await scrape(client)
        assert "outbox_pending_events{" not in text
        assert "# TYPE outbox_pending_events gauge" in text
        assert "http_requests_total" in text


# --- the mailer's queues -------------------------------------------------------------


@pytest.fixture
async def mailer(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> AsyncIterator[TestClient]:
    settings = mailer_settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings) as client:
        yield client


@pytest.fixture
async def broker(amqp_names: AmqpNames) -> AsyncIterator[Broker]:
    async with broker_for(amqp_names) as broker:
        yield broker


async def test_the_mailer_reports_its_queues_as_the_broker_sees_them(
    mailer: TestClient, amqp_names: AmqpNames
) -> None:
    q = amqp_names.mailer_queue
    assert await value(mailer, "mailer_queue_messages", queue=q, kind="events") == 0
    assert await value(mailer, "mailer_queue_consumers", queue=q, kind="events") == 1
    dlq = amqp_names.mailer_dead_letter_queue
    assert await value(mailer, "mailer_queue_messages", queue=dlq, kind="dead-letters") == 0
    retry = [labels for labels, _ in samples(await scrape(mailer), "mailer_queue_messages")
             if labels["kind"] == "retry"]
    assert len(retry) == 2  # one per delay of the test settings

    # Messages nobody consumes: put straight into the dead-letter queue.
    connection = await aio_pika.connect(amqp_names.url)
    async with connection:
        channel = await connection.channel()
        for n in range(3):
            await channel.default_exchange.publish(aio_pika.Message(f"{n}".encode()), dlq)

    async def three_waiting() -> bool:
        return await value(mailer, "mailer_queue_messages", queue=dlq, kind="dead-letters") == 3

    await eventually(three_waiting, timeout=10)


async def test_a_dead_lettered_message_is_counted_and_waits_in_the_queue(
    mailer: TestClient, broker: Broker, amqp_names: AmqpNames
) -> None:
    await broker.publish(b"not an event", "auth.registration-created")
    await broker.dead_letters(1)  # reads it back out of the queue
    assert await value(
        mailer, "mailer_mails_dead_lettered_total", template="none", reason="malformed"
    ) == 1


async def test_without_a_broker_connection_the_queues_are_left_out(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    down = dataclasses.replace(amqp_names, url=UNREACHABLE_BROKER)
    settings = mailer_settings_for(database_url, down, smtp_sink.host, smtp_sink.port)
    async with running(create_mailer_app(settings)) as client:
        text = await scrape(client)
        assert "mailer_queue_messages{" not in text
        assert "# TYPE mailer_queue_messages gauge" in text


# --- readiness -------------------------------------------------------------------------


async def test_readiness_outcomes_and_changes_are_counted_per_check(
    database_url: str, amqp_names: AmqpNames, tmp_path: Path, passwords: Passwords
) -> None:
    proxy = await TcpProxy("127.0.0.1", 5672).start()
    via_proxy = dataclasses.replace(amqp_names, url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/")
    settings = auth_settings_for(database_url, via_proxy, tmp_path)
    try:
        async with running(create_auth_app(settings, passwords=passwords)) as client:

            async def readyz_is(status: int) -> bool:
                return (await client.get("/readyz")).status == status

            # Before any probe: counters at zero, no gauge (nothing is known yet).
            assert await value(client, "readiness_checks_total", check="broker", outcome="ok") == 0
            assert await value(client, "readiness_check_changes_total", check="broker") == 0
            assert await value(client, "readiness_check_up", check="broker") is None

            await eventually(lambda: readyz_is(200), timeout=15)
            # The relay may not have been connected at the first probe: count from here.
            before = await value(client, "readiness_check_changes_total", check="broker")
            assert before is not None
            await proxy.cut()
            await eventually(lambda: readyz_is(503), timeout=15)
            assert await value(client, "readiness_check_up", check="broker") == 0
            await proxy.restore()
            await eventually(lambda: readyz_is(200), timeout=30)

            assert await value(client, "readiness_check_up", check="broker") == 1
            assert await value(client, "readiness_check_up", check="database") == 1
            # ok → unavailable → ok: two changes, however many probes each state saw.
            assert await value(client, "readiness_check_changes_total", check="broker") == before + 2
            assert await value(client, "readiness_check_changes_total", check="database") == 0
            failed = await value(
                client, "readiness_checks_total", check="broker", outcome="unavailable"
            )
            assert failed is not None and failed >= 1
    finally:
        await proxy.cut()


# --- the alert rules and the dashboard name only what exists ---------------------------


async def test_every_metric_in_the_alert_rules_and_the_dashboard_is_exported(
    database_url: str, amqp_names: AmqpNames, tmp_path: Path, passwords: Passwords,
    mailer: TestClient,
) -> None:
    exported: dict[str, set[str]] = {}
    auth = create_auth_app(auth_settings_for(database_url, amqp_names, tmp_path), passwords=passwords)
    faq = create_faq_app(faq_settings_for(database_url, amqp_names))
    async with running(auth) as auth_client, running(faq) as faq_client:
        for service, client in (("auth", auth_client), ("faq", faq_client), ("mailer", mailer)):
            await client.get("/readyz")
            exported[service] = exported_sample_names(await scrape(client))
    everything = set().union(*exported.values())

    named = rule_metric_names() | dashboard_metric_names()
    missing = named - everything - prometheus_own_series()
    assert not missing, f"named by a rule or panel but exported by no service: {sorted(missing)}"
    # The outbox is watched on both services that have one.
    for service in ("auth", "faq"):
        assert {"outbox_pending_events", "outbox_oldest_event_age_seconds"} <= exported[service]
