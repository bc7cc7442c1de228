"""The FAQ HTTP contract and content loading against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from portal_faq.app import create_app
from portal_faq.config import FaqSettings
from portal_faq.content import FaqContent, packaged_faq
from portal_faq.seed import import_faq, load_seed_if_empty
from tests.conftest import AmqpNames
from tests.support import eventually, running

pytestmark = pytest.mark.integration

PACKAGED = packaged_faq()
PACKAGED_ENTRIES = {e.slug: e for e in PACKAGED.entries()}


@pytest.fixture
async def faq_client(database_url: str, amqp_names: AmqpNames) -> AsyncIterator[TestClient]:
    settings = FaqSettings(
        faq_database_url=database_url, amqp_url=amqp_names.url, events_exchange=amqp_names.exchange
    )
    async with running(create_app(settings)) as client:
        yield client


async def query(database_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def snapshot(database_url: str) -> tuple[list, list]:
    categories = await query(database_url, "SELECT * FROM faq.categories ORDER BY id")
    entries = await query(database_url, "SELECT * FROM faq.entries ORDER BY id")
    return [tuple(r) for r in categories], [tuple(r) for r in entries]


async def test_the_faq_is_seeded_and_answered_in_german_by_default(faq_client: TestClient) -> None:
    response = await faq_client.get("/api/v1/faq")
    assert response.status == 200
    assert response.headers["Content-Language"] == "de"
    assert "Accept-Language" in response.headers["Vary"]
    body = await response.json()
    assert body["language"] == "de"
    assert [(c["slug"], c["title"], c["position"]) for c in body["categories"]] == [
        (c.slug, c.title, c.position) for c in PACKAGED.categories
    ]
    entries = [e for c in body["categories"] for e in c["entries"]]
    assert [e["slug"] for e in entries] == list(PACKAGED_ENTRIES)
    first = entries[0]
    assert set(first) >= {
        "slug", "question", "answer_html", "answer_markdown", "position", "updated_at"
    }
    assert first["question"] == PACKAGED_ENTRIES[first["slug"]].question
    assert first["answer_html"].startswith("<p>Verwenden Sie den aktuellsten Browser")
    assert datetime.fromisoformat(first["updated_at"]).tzinfo is not None


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/faq?lang=en", {}),
        ("/api/v1/faq", {"Accept-Language": "en-GB,en;q=0.9,de;q=0.5"}),
    ],
    ids=["query", "accept-language"],
)
async def test_english_is_given_when_asked_for(
    faq_client: TestClient, path: str, headers: dict[str, str]
) -> None:
    response = await faq_client.get(path, headers=headers)
    body = await response.json()
    assert response.headers["Content-Language"] == "en"
    assert body["language"] == "en"
    assert [c["title"] for c in body["categories"]] == [c.title_en for c in PACKAGED.categories]
    entries = {e["slug"]: e for c in body["categories"] for e in c["entries"]}
    assert entries["aktivierungslink"]["question"] == PACKAGED_ENTRIES["aktivierungslink"].question_en
    assert "24 hours" in entries["aktivierungslink"]["answer_html"]
    assert {e["language"] for e in entries.values()} == {"en"}


async def test_german_wins_when_preferred_over_english(faq_client: TestClient) -> None:
    response = await faq_client.get("/api/v1/faq", headers={"Accept-Language": "de-DE,en;q=0.8"})
    assert (await response.json())["language"] == "de"


async def test_an_entry_without_translation_falls_back_to_german(
    faq_client: TestClient, database_url: str
) -> None:
    await query(
        database_url,
        "UPDATE faq.entries SET question_en = NULL, answer_en_markdown = NULL,"
        " answer_en_html = NULL WHERE slug = 'einloggen'",
    )
    body = await (await faq_client.get("/api/v1/faq?lang=en")).json()
    entries = {e["slug"]: e for c in body["categories"] for e in c["entries"]}
    assert entries["einloggen"]["question"] == "Wie melde ich mich im Kundenportal an?"
    assert entries["einloggen"]["language"] == "de"
    assert entries["passwort-vergessen"]["language"] == "en"


async def test_one_entry_by_slug_in_either_language(faq_client: TestClient) -> None:
    response = await faq_client.get("/api/v1/faq/entries/passwort-anforderungen")
    assert response.status == 200
    body = await response.json()
    assert body["question"] == "Welche Anforderungen muss mein Passwort erfüllen?"
    assert "<li>Enthält mindestens 8 Zeichen</li>" in body["answer_html"]
    assert body["category"] == {"slug": "anmeldung-und-passwort", "title": "Anmeldung und Passwort"}

    english = await faq_client.get("/api/v1/faq/entries/passwort-anforderungen?lang=en")
    assert english.headers["Content-Language"] == "en"
    body = await english.json()
    assert body["question"] == "What requirements must my password meet?"
    assert body["answer_markdown"] == PACKAGED_ENTRIES["passwort-anforderungen"].answer_en
    assert body["category"]["title"] == "Login and password"


async def test_an_unknown_slug_is_a_404_problem_in_german(faq_client: TestClient) -> None:
    response = await faq_client.get("/api/v1/faq/entries/gibt-es-nicht")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["code"] == "faq_entry_not_found"
    assert body["detail"] == "Der angeforderte FAQ-Eintrag wurde nicht gefunden."
    assert body["instance"] == "/api/v1/faq/entries/gibt-es-nicht"

    english = await faq_client.get("/api/v1/faq/entries/gibt-es-nicht?lang=en")
    assert (await english.json())["detail"] == "The requested FAQ entry was not found."


async def test_seeding_again_changes_nothing(database_url: str) -> None:
    before = await snapshot(database_url)
    assert len(before[1]) == len(PACKAGED_ENTRIES)
    assert await load_seed_if_empty(database_url) is False
    assert await snapshot(database_url) == before


async def test_seeding_keeps_imported_content(database_url: str) -> None:
    await query(database_url, "DELETE FROM faq.entries WHERE slug <> 'einloggen'")
    assert await load_seed_if_empty(database_url) is False
    assert len(await query(database_url, "SELECT 1 FROM faq.entries")) == 1


async def test_an_empty_faq_is_seeded(database_url: str) -> None:
    await query(database_url, "DELETE FROM faq.entries")
    await query(database_url, "DELETE FROM faq.categories")
    assert await load_seed_if_empty(database_url) is True
    rows = await query(database_url, "SELECT slug, answer_html FROM faq.entries")
    assert {r["slug"] for r in rows} == set(PACKAGED_ENTRIES)
    assert all(r["answer_html"].startswith("<") for r in rows)


def edited_faq() -> FaqContent:
    """The packaged FAQ with one entry removed, one added, four changed, one category gone."""
    data = PACKAGED.model_dump()
    general, registration, login, contact = data["categories"]
    general["position"], registration["position"] = 2, 1
    general["entries"] = [e for e in general["entries"] if e["slug"] != "cookie-einstellung"]
    general["entries"].append({**contact["entries"][0], "position": 9})
    moved = next(e for e in login["entries"] if e["slug"] == "einloggen")
    login["entries"].remove(moved)
    general["entries"].append({**moved, "position": 10})
    for entry in login["entries"]:  # swap the requirements and the tips
        entry["position"] = {3: 4, 4: 3}.get(entry["position"], entry["position"])
    registration["entries"].append(
        {"slug": "neu-im-portal", "position": 5, "question": "Neu?", "answer": "Ja."}
    )
    data["categories"] = [general, registration, login]
    return FaqContent.model_validate(data)


async def test_import_replaces_the_content_and_keeps_unchanged_entries(
    faq_client: TestClient, database_url: str
) -> None:
    before = {r["slug"]: r["updated_at"] for r in await query(
        database_url, "SELECT slug, updated_at FROM faq.entries"
    )}
    counts = await import_faq(database_url, edited_faq())
    assert (counts.added, counts.updated, counts.unchanged, counts.removed) == (1, 4, 7, 1)

    body = await (await faq_client.get("/api/v1/faq")).json()
    assert [c["slug"] for c in body["categories"]] == [
        "registrierung", "allgemeines", "anmeldung-und-passwort"
    ]
    by_category = {c["slug"]: [e["slug"] for e in c["entries"]] for c in body["categories"]}
    assert by_category["allgemeines"] == [
        "browser-und-cookies", "neue-login-daten", "frage-nicht-beantwortet", "einloggen"
    ]
    assert by_category["anmeldung-und-passwort"] == [
        "passwort-vergessen", "sicheres-passwort", "passwort-anforderungen"
    ]
    assert by_category["registrierung"][-1] == "neu-im-portal"
    after = {r["slug"]: r["updated_at"] for r in await query(
        database_url, "SELECT slug, updated_at FROM faq.entries"
    )}
    assert after["browser-und-cookies"] == before["browser-und-cookies"]
    assert after["einloggen"] > before["einloggen"]

    again = await import_faq(database_url, edited_faq())
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 12, 0)


async def run_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "portal_faq.cli", *args,
        env={**os.environ, "FAQ_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_import_command_loads_a_file(database_url: str, tmp_path: Path) -> None:
    file = tmp_path / "faq.toml"
    file.write_text(
        '[[categories]]\nslug = "kontakt"\nposition = 1\ntitle = "Kontakt"\n\n'
        '[[categories.entries]]\nslug = "telefon"\nposition = 1\n'
        'question = "Wie erreiche ich Sie?"\nanswer = "Per **Telefon**."\n',
        encoding="utf-8",
    )
    code, out, _ = await run_cli(database_url, "import", str(file))
    assert (code, out.strip()) == (0, "1 added, 0 updated, 0 unchanged, 12 removed")
    rows = await query(database_url, "SELECT slug, answer_html FROM faq.entries")
    assert [tuple(r) for r in rows] == [("telefon", "<p>Per <strong>Telefon</strong>.</p>")]


async def test_the_import_command_refuses_an_invalid_file_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    before = await snapshot(database_url)
    file = tmp_path / "faq.toml"
    file.write_text('[[categories]]\nslug = "Kontakt!"\n', encoding="utf-8")
    code, out, err = await run_cli(database_url, "import", str(file))
    assert code == 1 and out == ""
    assert "categories.0.slug" in err and "nothing imported" in err
    assert await snapshot(database_url) == before


async def test_health_and_readiness(faq_client: TestClient) -> None:
    assert (await faq_client.get("/healthz")).status == 200

    async def ready() -> dict | None:
        response = await faq_client.get("/readyz")
        return await response.json() if response.status == 200 else None

    report = await eventually(ready)
    assert report["checks"] == {"database": "ok", "broker": "ok"}


async def test_metrics_are_exposed_for_prometheus(database_url: str) -> None:
    async with running(create_app(FaqSettings(faq_database_url=database_url))) as client:
        await client.get("/api/v1/faq")
        text = await (await client.get("/metrics")).text()
    assert 'http_requests_total{method="GET",route="/api/v1/faq",status="200"} 1.0' in text


@pytest.mark.parametrize("path", ["/api/v1/faq/entries/%00", "/api/v1/faq/categories/x%00", "/api/v1/faq/entries/" + "a" * 200])
async def test_paths_that_are_no_slug_are_a_plain_404(faq_client: TestClient, path: str) -> None:
    response = await faq_client.get(path)
    assert response.status == 404
    assert response.content_type == "application/problem+json"
