"""End to end through every real component: CLI import → auth → PostgreSQL outbox →
RabbitMQ → mailer → SMTP (aiosmtpd) → activation with the mailed token → login → me."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from portal_auth.app import create_app as create_auth_app
from portal_devtools.mailsink import MailSink
from tests.conftest import AmqpNames
from tests.e2e.conftest import auth_settings
from tests.support import TcpProxy, console_script, eventually, run_command, running

pytestmark = pytest.mark.integration

PASSWORD = "Sonne!Wind7Meer"


async def import_customers(database_url: str, tmp_path: Path) -> str:
    csv = tmp_path / "customers.csv"
    csv.write_text("customer_number,last_name\n10001,Mustermann\n10002,Müller\n", encoding="utf-8")
    result = await run_command(
        console_script("portal-auth"), "import-customers", str(csv),
        env={**os.environ, "AUTH_DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def registration(email: str) -> dict:
    return {
        "last_name": "Mustermann", "customer_number": "10001", "email": email,
        "password": PASSWORD, "accept_terms": True, "accept_privacy": True,
    }


def token_from(link: str) -> str:
    assert link.startswith("http://portal.test/aktivieren?token="), link
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_import_register_mail_activate_login_me(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient, tmp_path: Path
) -> None:
    assert await import_customers(database_url, tmp_path) == "2 added, 0 updated, 0 unchanged"
    async with running(create_auth_app(auth_settings(database_url, amqp_names, tmp_path))) as auth:
        sent_at = time.monotonic()
        response = await auth.post("/api/v1/auth/register", json=registration("Max@Example.de"))
        assert response.status == 202
        mail = await smtp_sink.wait_for_mail_to("Max@Example.de", timeout=15)
        latency = time.monotonic() - sent_at
        print(f"\nregister → mail accepted by SMTP: {latency * 1000:.0f} ms")

        assert "aktivieren" in mail.subject.lower() or "aktivierung" in mail.subject.lower()
        assert mail.html and mail.text
        token = token_from(mail.links[0])
        assert (await auth.post("/api/v1/auth/activate", json={"token": token})).status == 200

        login = await auth.post("/api/v1/auth/login", json={"email": "max@example.de", "password": PASSWORD})
        assert login.status == 200
        access = (await login.json())["access_token"]
        me = await auth.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status == 200
        assert (await me.json())["customer_number"] == "10001"


async def outbox_size(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM auth.outbox")
    finally:
        await conn.close()


async def test_registration_is_accepted_while_the_broker_is_down_and_the_mail_follows(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient, tmp_path: Path
) -> None:
    await import_customers(database_url, tmp_path)
    proxy = await TcpProxy("127.0.0.1", 5672).start()
    settings = auth_settings(
        database_url, amqp_names, tmp_path, amqp_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
    )
    async with running(create_auth_app(settings)) as auth:
        await eventually(lambda: _status_is(auth, 200))
        await proxy.cut()
        await eventually(lambda: _status_is(auth, 503))

        response = await auth.post("/api/v1/auth/register", json=registration("outage@example.de"))
        assert response.status == 202
        assert await outbox_size(database_url) == 1
        assert smtp_sink.to("outage@example.de") == []

        await proxy.restore()
        mail = await smtp_sink.wait_for_mail_to("outage@example.de", timeout=30)
        assert token_from(mail.links[0])
        assert await eventually(lambda: _outbox_is_empty(database_url))
    await proxy.cut()


async def _status_is(client: TestClient, status: int) -> bool:
    return (await client.get("/readyz")).status == status


async def _outbox_is_empty(database_url: str) -> bool:
    return await outbox_size(database_url) == 0
