"""FAQ search against the real PostgreSQL: German stemming, compounds, typos, synonyms,
safe highlighted snippets, and the limits of a query."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from portal_faq.app import create_app
from portal_faq.config import FaqSettings
from portal_faq.keys import CONTEXT, POOL
from tests.conftest import AmqpNames
from tests.support import eventually, running

pytestmark = pytest.mark.integration

SEARCH = "/api/v1/faq/search"

# How customers type: lower case, umlauts or not, compounds, typos, whole sentences,
# their own words. Each must find the entry that answers it among the first three.
CUSTOMER_QUERIES = [
    ("Passwort vergessen", "passwort-vergessen"),
    ("passwort vergessen", "passwort-vergessen"),
    ("Passwörter", "sicheres-passwort"),
    ("Pasword", "passwort-anforderungen"),
    ("Paswort vergesen", "passwort-vergessen"),
    ("Aktivierungslink abgelaufen", "aktivierungslink-abgelaufen"),
    ("wie lange ist der link gültig", "aktivierungslink"),
    ("Kennwort ändern", "sicheres-passwort"),
    ("passwort zurücksetzen", "passwort-vergessen"),
    ("Cookies aktivieren", "browser-und-cookies"),
    ("welcher browser", "browser-und-cookies"),
    ("cookie einstellungen", "cookie-einstellung"),
    ("Kundennummer", "registrieren"),
    ("registrieren", "registrieren"),
    ("registrierung bestätigen", "registrieren"),
    ("Sonderzeichen", "passwort-anforderungen"),
    ("passwortregeln", "passwort-anforderungen"),
    ("grossbuchstaben", "passwort-anforderungen"),
    ("sicheres passwort tipps", "sicheres-passwort"),
    ("link lässt sich nicht öffnen", "aktivierungslink-oeffnet-nicht"),
    ("neue zugangsdaten", "neue-login-daten"),
    ("warum neue logindaten", "neue-login-daten"),
    ("anmelden", "einloggen"),
    ("wie melde ich mich an", "einloggen"),
    ("konto freischalten", "aktivierungslink"),
    ("aktivierungs link", "aktivierungslink"),
    ("kontakt", "frage-nicht-beantwortet"),
]


# Every search test runs against both ways of searching: the index in memory (once it is
# built) and the database (while a replica has no index); they must agree.
@pytest.fixture(params=["in-memory", "database"])
async def faq_client(
    request: pytest.FixtureRequest, database_url: str, amqp_names: AmqpNames
) -> AsyncIterator[TestClient]:
    in_memory = request.param == "in-memory"
    settings = FaqSettings(
        faq_database_url=database_url,
        amqp_url=amqp_names.url,
        events_exchange=amqp_names.exchange,
        faq_search_in_memory=in_memory,
    )
    async with running(create_app(settings)) as client:
        if in_memory:
            await asyncio.wait_for(client.server.app[CONTEXT].search_index.ready.wait(), 10)
        yield client


async def search(client: TestClient, query: str, **params: str) -> list[dict]:
    response = await client.get(SEARCH, params={"q": query, **params})
    assert response.status == 200, await response.text()
    return (await response.json())["results"]


@pytest.mark.parametrize(("query", "slug"), CUSTOMER_QUERIES, ids=[q for q, _ in CUSTOMER_QUERIES])
async def test_a_customer_query_finds_its_answer_in_the_top_three(
    faq_client: TestClient, query: str, slug: str
) -> None:
    results = await search(faq_client, query, limit="3")
    assert slug in [r["slug"] for r in results]


async def test_the_best_match_comes_first(faq_client: TestClient) -> None:
    results = await search(faq_client, "Mein Aktivierungslink ist abgelaufen")
    assert results[0]["slug"] == "aktivierungslink-abgelaufen"
    assert (await search(faq_client, "Passwort vergessen"))[0]["slug"] == "passwort-vergessen"


async def test_a_result_has_question_category_and_highlighted_snippet(
    faq_client: TestClient,
) -> None:
    first = (await search(faq_client, "Sonderzeichen"))[0]
    assert first["slug"] == "passwort-anforderungen"
    assert first["question"] == "Welche Anforderungen muss mein Passwort erfüllen?"
    assert first["category"] == {"slug": "anmeldung-und-passwort", "title": "Anmeldung und Passwort"}
    assert "<mark>Sonderzeichen</mark>" in first["snippet_html"]
    assert first["language"] == "de"


async def test_stemmed_and_misspelt_words_are_highlighted_as_written_in_the_faq(
    faq_client: TestClient,
) -> None:
    results = {r["slug"]: r for r in await search(faq_client, "Pasword")}
    assert "<mark>Passwort</mark>" in results["passwort-anforderungen"]["question_html"]
    plural = {r["slug"]: r for r in await search(faq_client, "Passwörter")}
    assert plural["sicheres-passwort"]["question_html"] == (
        "Wie wähle ich ein sicheres <mark>Passwort</mark>?"
    )


async def test_snippets_are_html_with_no_markup_but_mark(
    faq_client: TestClient, database_url: str
) -> None:
    # Whatever an answer contains, the snippet escapes it; only <mark> is markup.
    for result in await search(faq_client, "Passwort Link Registrierung Browser", limit="50"):
        for html in (result["snippet_html"], result["question_html"]):
            assert set(re.findall(r"</?([a-zA-Z]+)", html)) <= {"mark"}
    registration = (await search(faq_client, "Nutzungsbedingungen"))[0]
    assert "<mark>Nutzungsbedingungen</mark> &amp; Datenschutz" in registration["snippet_html"]


async def test_english_searches_and_shows_the_translation(faq_client: TestClient) -> None:
    results = await search(faq_client, "forgot password", lang="en")
    assert results[0]["slug"] == "passwort-vergessen"
    assert results[0]["question"] == "I have forgotten my password. What can I do?"
    assert results[0]["category"]["title"] == "Login and password"
    assert results[0]["language"] == "en"
    german_words = await search(faq_client, "Kundennummer", lang="en")
    assert "registrieren" in [r["slug"] for r in german_words]


async def test_limit_caps_the_results(faq_client: TestClient) -> None:
    assert len(await search(faq_client, "Passwort", limit="2")) == 2
    assert len(await search(faq_client, "Passwort")) > 2


async def test_words_the_faq_does_not_know_find_nothing(faq_client: TestClient) -> None:
    assert await search(faq_client, "Rechnung Lastschrift") == []
    assert await search(faq_client, "der die das") == []
    assert await search(faq_client, "?!") == []


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({}, "q", "required"),
        ({"q": ""}, "q", "required"),
        ({"q": "   "}, "q", "required"),
        ({"q": "x" * 201}, "q", "too_long"),
        ({"q": "passwort", "limit": "0"}, "limit", "out_of_range"),
        ({"q": "passwort", "limit": "51"}, "limit", "out_of_range"),
        ({"q": "passwort", "limit": "viele"}, "limit", "not_an_integer"),
    ],
    ids=["missing", "empty", "blank", "too-long", "limit-0", "limit-51", "limit-text"],
)
async def test_an_invalid_query_is_a_422_problem(
    faq_client: TestClient, params: dict[str, str], field: str, code: str
) -> None:
    response = await faq_client.get(SEARCH, params=params)
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["code"] == "validation_error"
    assert body["errors"] == [{"field": field, "code": code}]
    assert body["detail"] == "Die Eingaben sind unvollständig oder ungültig."


async def test_a_query_of_200_characters_is_accepted(faq_client: TestClient) -> None:
    query = ("passwort " * 30)[:200]
    response = await faq_client.get(SEARCH, params={"q": query})
    assert response.status == 200


async def test_database_searches_are_rate_limited_per_client_but_cached_ones_are_not(
    database_url: str,
) -> None:
    settings = FaqSettings(
        faq_database_url=database_url, search_max_per_minute=3, faq_search_in_memory=False
    )
    async with running(create_app(settings)) as client:
        await asyncio.wait_for(client.server.app[CONTEXT].watcher.listening.wait(), 10)  # cache on
        statuses = [(await client.get(f"/api/v1/faq/search?q=passwort{i}")).status for i in range(4)]
        repeated = [(await client.get("/api/v1/faq/search?q=passwort0")).status for _ in range(5)]
    assert statuses == [200, 200, 200, 429]
    assert repeated == [200] * 5


async def test_searches_the_index_answers_are_not_rate_limited(database_url: str) -> None:
    settings = FaqSettings(faq_database_url=database_url, search_max_per_minute=3)
    async with running(create_app(settings)) as client:
        await asyncio.wait_for(client.server.app[CONTEXT].search_index.ready.wait(), 10)
        statuses = [(await client.get(f"/api/v1/faq/search?q=passwort{i}")).status for i in range(6)]
    assert statuses == [200] * 6


async def test_the_index_is_rebuilt_when_the_content_changes(database_url: str) -> None:
    settings = FaqSettings(faq_database_url=database_url)
    async with running(create_app(settings)) as client:
        holder = client.server.app[CONTEXT].search_index
        await asyncio.wait_for(holder.ready.wait(), 10)
        builds = holder.builds
        assert await search(client, "Quietschente") == []
        await client.server.app[POOL].execute(
            "UPDATE entries SET question = 'Wo ist die Quietschente?' WHERE slug = 'kontakt'"
            " OR slug = (SELECT min(slug) FROM entries)"
        )

        async def rebuilt() -> bool:
            return holder.builds > builds and holder.index is not None

        await eventually(rebuilt)
        found = await search(client, "Quietschente")
    assert len(found) == 1
    assert found[0]["question_html"] == "Wo ist die <mark>Quietschente</mark>?"
