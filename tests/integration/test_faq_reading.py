"""Reading is cheap: answers carry validators for browsers and CDNs, and repeated reads
come from memory until the content changes (whoever changes it)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from portal_faq.app import create_app
from portal_faq.cache import LISTENER_NAME, ResponseCache
from portal_faq.config import FaqSettings
from portal_faq.keys import CONTEXT
from tests.conftest import AmqpNames
from tests.support import eventually, running

pytestmark = pytest.mark.integration

PATHS = ["/api/v1/faq", "/api/v1/faq/entries/einloggen", "/api/v1/faq/search?q=passwort",
         "/api/v1/faq/categories/kontakt"]


@pytest.fixture
async def faq_client(database_url: str, amqp_names: AmqpNames) -> AsyncIterator[TestClient]:
    settings = FaqSettings(
        faq_database_url=database_url, amqp_url=amqp_names.url, events_exchange=amqp_names.exchange
    )
    async with running(create_app(settings)) as client:
        await asyncio.wait_for(client.server.app[CONTEXT].watcher.listening.wait(), 10)
        yield client


def cache(client: TestClient) -> ResponseCache:
    return client.server.app[CONTEXT].cache


async def execute(database_url: str, sql: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.mark.parametrize("path", PATHS)
async def test_reads_carry_cdn_headers_and_answer_304_when_unchanged(
    faq_client: TestClient, path: str
) -> None:
    response = await faq_client.get(path)
    assert response.status == 200
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert response.headers["Cache-Control"] == "public, max-age=60, stale-while-revalidate=300"
    assert response.headers["Vary"] == "Accept-Language"

    again = await faq_client.get(path, headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == response.headers["Cache-Control"]

    weak = await faq_client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status == 304
    other = await faq_client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status == 200


async def test_each_language_has_its_own_etag(faq_client: TestClient) -> None:
    german = await faq_client.get("/api/v1/faq")
    english = await faq_client.get("/api/v1/faq", headers={"Accept-Language": "en"})
    assert german.headers["ETag"] != english.headers["ETag"]
    stale = await faq_client.get(
        "/api/v1/faq", headers={"Accept-Language": "en", "If-None-Match": german.headers["ETag"]}
    )
    assert stale.status == 200


async def test_repeated_reads_do_not_touch_the_database(faq_client: TestClient) -> None:
    for _ in range(5):
        for path in PATHS:
            assert (await faq_client.get(path)).status == 200
    assert cache(faq_client).misses == len(PATHS)
    assert cache(faq_client).hits == 4 * len(PATHS)


async def test_a_change_in_the_database_reaches_the_cache(
    faq_client: TestClient, database_url: str
) -> None:
    before = await faq_client.get("/api/v1/faq/entries/einloggen")
    await execute(
        database_url,
        "UPDATE faq.entries SET question = 'Wie logge ich mich ein?', updated_at = now()"
        " WHERE slug = 'einloggen'",
    )

    async def changed() -> bool:
        response = await faq_client.get("/api/v1/faq/entries/einloggen")
        return (await response.json())["question"] == "Wie logge ich mich ein?"

    await eventually(changed)
    after = await faq_client.get("/api/v1/faq/entries/einloggen")
    assert after.headers["ETag"] != before.headers["ETag"]


async def test_the_import_command_of_another_process_reaches_the_cache(
    faq_client: TestClient, database_url: str, tmp_path: Path
) -> None:
    assert len((await (await faq_client.get("/api/v1/faq")).json())["categories"]) == 4
    file = tmp_path / "faq.toml"
    file.write_text(
        '[[categories]]\nslug = "kontakt"\nposition = 1\ntitle = "Kontakt"\n\n'
        '[[categories.entries]]\nslug = "telefon"\nposition = 1\n'
        'question = "Wie erreiche ich Sie?"\nanswer = "Per Telefon."\n',
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "portal_faq.cli", "import", str(file),
        env={**os.environ, "FAQ_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await process.wait() == 0

    async def only_the_imported_entry() -> bool:
        body = await (await faq_client.get("/api/v1/faq")).json()
        return [e["slug"] for c in body["categories"] for e in c["entries"]] == ["telefon"]

    await eventually(only_the_imported_entry)
    search = await (await faq_client.get("/api/v1/faq/search?q=telefon")).json()
    assert [r["slug"] for r in search["results"]] == ["telefon"]


async def test_without_the_listener_nothing_is_served_from_memory(
    faq_client: TestClient, database_url: str
) -> None:
    await faq_client.get("/api/v1/faq")
    assert len(cache(faq_client)) == 1
    await execute(
        database_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = current_database() AND application_name = '{LISTENER_NAME}'",
    )

    async def cache_off() -> bool:
        return not cache(faq_client).enabled

    await eventually(cache_off)
    assert len(cache(faq_client)) == 0
    await faq_client.get("/api/v1/faq")
    await faq_client.get("/api/v1/faq")
    assert len(cache(faq_client)) == 0  # read from the database each time

    await asyncio.wait_for(faq_client.server.app[CONTEXT].watcher.listening.wait(), 10)
    await faq_client.get("/api/v1/faq")
    assert len(cache(faq_client)) == 1
