"""`make dev` as a developer meets it: `portal-dev` migrates, seeds the demo customer,
runs the services, a mail sink and the portal page, and stops everything on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from portal_devtools.mailsink import free_port
from tests.conftest import ADMIN_DSN, AmqpNames, dsn_for

pytestmark = pytest.mark.integration


def distinct_free_ports(*names: str) -> dict[str, int]:
    """Free ports outside the kernel's ephemeral range, no two the same (see `free_port`)."""
    return {name: free_port() for name in names}


class Output:
    """Collects a child's output and lets the test wait for a line matching a pattern."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.ensure_future(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self._changed.notify_all()

    async def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            return next((m for line in self.lines if (m := regex.search(line))), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(found), timeout)
        match = found()
        assert match is not None
        return match


async def test_portal_dev_runs_the_stack_and_stops_cleanly_on_ctrl_c(
    database_url: str, amqp_names: AmqpNames, tmp_path: Path
) -> None:
    ports = distinct_free_ports("AUTH_PORT", "FAQ_PORT", "MAILER_PORT", "DEV_MAILSINK_PORT", "PORTAL")
    portal = f"http://localhost:{ports['PORTAL']}"
    env = {k: v for k, v in os.environ.items() if k != "SMTP_HOST"} | {
        name: str(port) for name, port in ports.items() if name != "PORTAL"
    } | {
        "AUTH_DATABASE_URL": database_url,
        "PORTAL_DATABASE_URL": database_url,
        "FAQ_DATABASE_URL": database_url,
        "MAILER_DATABASE_URL": database_url,
        "EVENTS_EXCHANGE": amqp_names.exchange,
        "DEAD_LETTER_EXCHANGE": amqp_names.dead_letter_exchange,
        "MAILER_QUEUE": amqp_names.mailer_queue,
        "MAILER_DEAD_LETTER_QUEUE": amqp_names.mailer_dead_letter_queue,
        "PORTAL_BASE_URL": portal,
    }
    child = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "portal-dev"),
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert child.stdout is not None
    output = Output(child.stdout)
    try:
        await output.wait_for(r"Ctrl-C stops everything")
        auth = f"http://127.0.0.1:{ports['AUTH_PORT']}"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for port in (ports["AUTH_PORT"], ports["FAQ_PORT"], ports["MAILER_PORT"], ports["PORTAL"]):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as ready:
                    assert ready.status == 200
            registration = {
                "last_name": "Mustermann", "customer_number": "10001", "email": "demo@example.de",
                "password": "Sonne!Wind7Meer", "accept_terms": True, "accept_privacy": True,
            }
            async with http.post(f"{auth}/api/v1/auth/register", json=registration) as response:
                assert response.status == 202
            link = (await output.wait_for(re.escape(portal) + r"/aktivieren\?token=(\S+)")).group(0)
            async with http.get(link) as page:  # what a mail scanner does: must not activate
                assert page.status == 200
                html = await page.text()
            assert "Konto aktivieren" in html
            fields = dict(re.findall(r'name="(csrf_token|token)" value="([^"]*)"', html))
            # The button on the portal's page posts the token (with the form's CSRF token).
            async with http.post(f"{portal}/aktivieren", data=fields) as activated:
                assert activated.status == 200
                assert "Ihr Benutzerkonto ist aktiviert" in await activated.text()
        assert list((tmp_path / "var" / "mails").glob("*.eml"))
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(child.wait(), 30)
    assert code == 0
    await output.wait_for(r"portal-dev: stopped", timeout=5)
    for port in ports.values():
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)


async def test_portal_dev_reset_drops_the_dev_database(tmp_path: Path) -> None:
    """`make reset-dev`: the walk-through can start again from an empty database."""
    name = f"portal_reset_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        (tmp_path / "var" / "mails").mkdir(parents=True)
        (tmp_path / "var" / "mails" / "old.eml").write_text("x")
        env = {**os.environ} | {
            variable: dsn_for(name)
            for variable in ("AUTH_DATABASE_URL", "FAQ_DATABASE_URL", "MAILER_DATABASE_URL", "PORTAL_DATABASE_URL")
        }
        child = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "portal-dev"), "reset", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await child.communicate()
        assert child.returncode == 0
        assert f"dropped database {name}" in out.decode()
        assert not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        assert not list((tmp_path / "var" / "mails").glob("*.eml"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
