"""The auth service as operators run it: separate processes sharing one database.

Throttling state lives in PostgreSQL, so failures counted by one replica make the
account need a challenge on the other (and a solved one is spent for both, as both read
the development key generated once in the shared key directory); and schemathesis fuzzes a running process against its OpenAPI
document (no 5xx, no answer outside the document).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from portal_devtools.mailsink import free_port
from tests.challenge_support import solved
from tests.conftest import AmqpNames
from tests.integration.conftest import GOOD_PASSWORD, registration
from tests.support import run_schemathesis, serving

pytestmark = pytest.mark.integration


def _replica(database_url: str, amqp: AmqpNames, key_dir: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    env = {
        "AUTH_DATABASE_URL": database_url, "AMQP_URL": amqp.url,
        "EVENTS_EXCHANGE": amqp.exchange, "AUTH_PORT": str(port), "JWT_KEY_DIR": str(key_dir),
    }
    return serving("portal-auth", env, port)


@pytest.fixture
async def seeded(database_url: str, customers: object) -> str:
    return database_url


@pytest.fixture
async def two_replicas(seeded: str, amqp_names: AmqpNames, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    async with AsyncExitStack() as replicas:
        a, b = await asyncio.gather(
            replicas.enter_async_context(_replica(seeded, amqp_names, tmp_path)),
            replicas.enter_async_context(_replica(seeded, amqp_names, tmp_path)),
        )
        yield a, b


async def test_failures_on_one_replica_need_a_challenge_on_the_other(
    two_replicas: tuple[str, str], seeded: str
) -> None:
    a, b = two_replicas
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{a}/api/v1/auth/register", json=registration()) as response:
            assert response.status == 202
        conn = await asyncpg.connect(seeded)
        try:
            await conn.execute("UPDATE auth.accounts SET status = 'active'")
        finally:
            await conn.close()
        wrong = {"email": "max@example.de", "password": "Falsch!7Xq"}
        for replica in (a, b, a, b, a):  # five failures, spread over both
            async with http.post(f"{replica}/api/v1/auth/login", json=wrong) as response:
                assert response.status == 401
        right = {"email": "max@example.de", "password": GOOD_PASSWORD}
        for replica in (a, b):  # was 429 (a lock); now a solved challenge is needed
            async with http.post(f"{replica}/api/v1/auth/login", json=right) as response:
                assert response.status == 428
        # A challenge handed out by one replica is accepted by the other, once.
        altcha = await solved(http, f"{a}/api/v1/auth/challenge")
        async with http.post(f"{b}/api/v1/auth/login", json={**right, "altcha": altcha}) as response:
            assert response.status == 200
        async with http.post(f"{a}/api/v1/auth/login", json={**right, "altcha": altcha}) as response:
            assert response.status == 428


async def _logged_in(base: str, database_url: str) -> str:
    """An access token of a real account, so the protected operations get fuzzed too."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/v1/auth/register", json=registration()) as response:
            assert response.status == 202
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("UPDATE auth.accounts SET status = 'active'")
        finally:
            await conn.close()
        login = {"email": "max@example.de", "password": GOOD_PASSWORD}
        async with http.post(f"{base}/api/v1/auth/login", json=login) as response:
            return (await response.json())["access_token"]


async def test_schemathesis_finds_no_5xx_and_no_undocumented_answer(
    two_replicas: tuple[str, str], seeded: str, tmp_path: Path
) -> None:
    base, _ = two_replicas
    token = await _logged_in(base, seeded)
    report = tmp_path / "junit.xml"
    await run_schemathesis(f"{base}/api/v1/auth/openapi.json", base, token, report)
