"""CORS against the running auth and FAQ apps: listed origins may read the answers,
others get no CORS headers, and without CORS_ALLOWED_ORIGINS nothing changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from portal_auth.app import create_app as create_auth_app
from portal_auth.config import AuthSettings
from portal_auth.passwords import Passwords
from portal_faq.app import create_app as create_faq_app
from portal_faq.config import FaqSettings
from tests.conftest import AmqpNames
from tests.integration.conftest import FakeClock, Portal
from tests.support import running

pytestmark = pytest.mark.integration

ALLOWED = "https://app.example.de"
# Another site, the same host without TLS, a look-alike, sandboxed frames and files.
OTHERS = [
    "https://evil.example", "http://app.example.de", "https://app.example.de.evil.example", "null",
]
LOGIN = "/api/v1/auth/login"
ENTRY = "/api/v1/faq/entries/passwort-anforderungen"
EXPOSED = {"etag", "retry-after", "x-request-id", "location", "content-language"}


def tokens(response: ClientResponse, header: str) -> set[str]:
    values = response.headers.getall(header, [])
    return {t.strip().lower() for v in values for t in v.split(",") if t.strip()}


def cors_headers(response: ClientResponse) -> set[str]:
    return {name.lower() for name in response.headers if name.lower().startswith("access-control-")}


def assert_allowed(response: ClientResponse) -> None:
    assert response.headers.getall("Access-Control-Allow-Origin") == [ALLOWED]
    assert "origin" in tokens(response, "Vary")
    assert tokens(response, "Access-Control-Expose-Headers") == EXPOSED
    assert "Access-Control-Allow-Credentials" not in response.headers


def preflight(method: str, headers: str = "content-type", origin: str = ALLOWED) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


# --- apps ---------------------------------------------------------------------------


def auth_settings(
    database_url: str, amqp_names: AmqpNames, tmp_path: Path, **more: object
) -> AuthSettings:
    return AuthSettings(
        auth_database_url=database_url, amqp_url=amqp_names.url,
        events_exchange=amqp_names.exchange, jwt_key_dir=tmp_path / "keys", **more,
    )


def faq_settings(database_url: str, amqp_names: AmqpNames, **more: object) -> FaqSettings:
    return FaqSettings(
        faq_database_url=database_url, amqp_url=amqp_names.url,
        events_exchange=amqp_names.exchange, **more,
    )


@pytest.fixture
async def auth_api(
    database_url: str, amqp_names: AmqpNames, tmp_path: Path, customers: list,
    passwords: Passwords, clock: FakeClock,
) -> AsyncIterator[TestClient]:
    settings = auth_settings(database_url, amqp_names, tmp_path, cors_allowed_origins=[ALLOWED])
    async with running(create_auth_app(settings, clock=clock, passwords=passwords)) as client:
        yield client


@pytest.fixture
async def plain_auth_api(
    database_url: str, amqp_names: AmqpNames, tmp_path: Path, passwords: Passwords
) -> AsyncIterator[TestClient]:
    settings = auth_settings(database_url, amqp_names, tmp_path)
    assert settings.cors_allowed_origins == []
    async with running(create_auth_app(settings, passwords=passwords)) as client:
        yield client


@pytest.fixture
async def faq_api(database_url: str, amqp_names: AmqpNames) -> AsyncIterator[TestClient]:
    # Written as an operator might; the app compares it as the browser sends it.
    settings = faq_settings(
        database_url, amqp_names, cors_allowed_origins="HTTPS://app.example.de:443"
    )
    async with running(create_faq_app(settings)) as client:
        yield client


@pytest.fixture
async def plain_faq_api(database_url: str, amqp_names: AmqpNames) -> AsyncIterator[TestClient]:
    settings = faq_settings(database_url, amqp_names)
    assert settings.cors_allowed_origins == []
    async with running(create_faq_app(settings)) as client:
        yield client


# --- an allowed origin --------------------------------------------------------------


async def test_an_allowed_origin_may_log_in_and_read_the_answer(
    auth_api: TestClient, database_url: str
) -> None:
    portal = Portal(auth_api, database_url)
    account = await portal.active_account()
    response = await portal.post(
        "login", {"email": account["email"], "password": account["password"]},
        headers={"Origin": ALLOWED},
    )
    assert response.status == 200
    assert "access_token" in await response.json()
    assert_allowed(response)


async def test_an_allowed_origin_can_read_error_answers_too(auth_api: TestClient) -> None:
    response = await auth_api.post(
        LOGIN, json={"email": "nobody@example.de", "password": "falsch"},
        headers={"Origin": ALLOWED},
    )
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert_allowed(response)
    # The problem answer varies by language as before, and now by origin as well.
    assert tokens(response, "Vary") == {"accept-language", "origin"}


async def test_an_allowed_origin_gets_cors_headers_on_a_get(auth_api: TestClient) -> None:
    response = await auth_api.get("/api/v1/auth/password/policy", headers={"Origin": ALLOWED})
    assert response.status == 200
    assert_allowed(response)


async def test_preflight_for_the_login_is_answered_before_routing(auth_api: TestClient) -> None:
    response = await auth_api.options(LOGIN, headers=preflight("POST"))
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert tokens(response, "Access-Control-Allow-Methods") == {"get", "post", "put", "delete"}
    assert tokens(response, "Access-Control-Allow-Headers") == {
        "content-type", "authorization", "accept-language",
        "if-match", "if-none-match", "x-request-id",
    }
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "origin" in tokens(response, "Vary")
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.headers["X-Request-ID"]
    assert await response.read() == b""


async def test_faq_reads_vary_by_language_and_origin(faq_api: TestClient) -> None:
    response = await faq_api.get(ENTRY, headers={"Origin": ALLOWED, "Accept-Language": "en"})
    assert response.status == 200
    assert response.headers["Content-Language"] == "en"
    assert_allowed(response)
    assert tokens(response, "Vary") == {"accept-language", "origin"}
    assert len(response.headers.getall("Vary")) == 1

    revalidated = await faq_api.get(
        ENTRY,
        headers={
            "Origin": ALLOWED, "Accept-Language": "en",
            "If-None-Match": response.headers["ETag"],
        },
    )
    assert revalidated.status == 304
    assert revalidated.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert tokens(revalidated, "Vary") == {"accept-language", "origin"}


async def test_preflight_for_an_entry_edit_works_although_the_route_has_no_options(
    faq_api: TestClient,
) -> None:
    response = await faq_api.options(
        ENTRY, headers=preflight("PUT", "authorization, content-type, if-match")
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "put" in tokens(response, "Access-Control-Allow-Methods")
    assert {"authorization", "if-match"} <= tokens(response, "Access-Control-Allow-Headers")
    assert response.headers["Access-Control-Max-Age"] == "600"


async def test_an_allowed_origin_may_post_the_contact_form(faq_api: TestClient) -> None:
    response = await faq_api.post(
        "/api/v1/contact",
        json={
            "name": "Erika Mustermann", "email": "erika@example.de",
            "subject": "Frage", "message": "Wo finde ich meine Rechnung?",
        },
        headers={"Origin": ALLOWED},
    )
    assert response.status == 202, await response.text()
    assert_allowed(response)


async def test_options_without_a_requested_method_is_no_preflight(faq_api: TestClient) -> None:
    response = await faq_api.options(ENTRY, headers={"Origin": ALLOWED})
    assert response.status == 405
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


# --- other origins ------------------------------------------------------------------


@pytest.mark.parametrize("origin", OTHERS)
async def test_another_origin_is_served_without_cors_headers(
    faq_api: TestClient, origin: str
) -> None:
    response = await faq_api.get(ENTRY, headers={"Origin": origin})
    assert response.status == 200
    assert cors_headers(response) == set()
    assert tokens(response, "Vary") == {"accept-language", "origin"}


async def test_a_request_without_origin_still_says_that_the_answer_varies_by_it(
    auth_api: TestClient,
) -> None:
    response = await auth_api.get("/api/v1/auth/password/policy")
    assert response.status == 200
    assert cors_headers(response) == set()
    assert "origin" in tokens(response, "Vary")


@pytest.mark.parametrize("origin", OTHERS)
async def test_another_origins_preflight_is_refused(auth_api: TestClient, origin: str) -> None:
    response = await auth_api.options(LOGIN, headers=preflight("POST", origin=origin))
    assert response.status == 403
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "cors_origin_not_allowed"
    assert cors_headers(response) == set()
    assert "origin" in tokens(response, "Vary")


async def test_the_refused_preflight_is_explained_in_german_and_english(
    faq_api: TestClient,
) -> None:
    refused = preflight("PUT", origin=OTHERS[0])
    german = await (await faq_api.options(ENTRY, headers=refused)).json()
    english = await (
        await faq_api.options(ENTRY, headers={**refused, "Accept-Language": "en"})
    ).json()
    assert german["status"] == english["status"] == 403
    assert "Website" in german["detail"]
    assert "website" in english["detail"]
    assert german["detail"] != english["detail"]


# --- not configured -----------------------------------------------------------------


async def test_without_origins_no_cors_headers_and_no_vary_origin(
    plain_auth_api: TestClient, plain_faq_api: TestClient
) -> None:
    login = await plain_auth_api.post(
        LOGIN, json={"email": "nobody@example.de", "password": "falsch"},
        headers={"Origin": ALLOWED},
    )
    assert login.status == 401
    entry = await plain_faq_api.get(ENTRY, headers={"Origin": ALLOWED})
    assert entry.status == 200
    for response in (login, entry):
        assert cors_headers(response) == set()
        assert "origin" not in tokens(response, "Vary")


async def test_without_origins_options_is_answered_as_before(
    plain_auth_api: TestClient, plain_faq_api: TestClient
) -> None:
    for client, path, method in ((plain_auth_api, LOGIN, "POST"), (plain_faq_api, ENTRY, "PUT")):
        response = await client.options(path, headers=preflight(method))
        assert response.status == 405
        assert (await response.json())["code"] == "method_not_allowed"
        assert "OPTIONS" not in response.headers["Allow"]
        assert cors_headers(response) == set()
