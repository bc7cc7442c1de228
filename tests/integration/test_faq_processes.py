"""The FAQ service as operators run it: its own process, editors' tokens verified against
a running auth service. Its OpenAPI document describes every route, and schemathesis
fuzzes the running process against it — reading, searching, the contact form and, with
an editor's token, editing (no 5xx, no answer outside the document)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from portal_devtools.mailsink import free_port
from portal_faq.app import create_app
from portal_faq.config import FaqSettings
from tests.conftest import AmqpNames
from tests.integration.conftest import GOOD_PASSWORD, registration
from tests.support import console_script, run_command, run_schemathesis, running, serving

pytestmark = pytest.mark.integration


@pytest.fixture
async def auth_and_faq(
    database_url: str, customers: object, amqp_names: AmqpNames, tmp_path: Path
) -> AsyncIterator[tuple[str, str]]:
    broker = {"AMQP_URL": amqp_names.url, "EVENTS_EXCHANGE": amqp_names.exchange}
    auth_port, faq_port = free_port(), free_port()
    auth_env = {
        **broker, "AUTH_DATABASE_URL": database_url, "AUTH_PORT": str(auth_port),
        "JWT_KEY_DIR": str(tmp_path / "keys"),
    }
    auth = f"http://127.0.0.1:{auth_port}"
    faq_env = {
        **broker, "FAQ_DATABASE_URL": database_url, "FAQ_PORT": str(faq_port),
        "AUTH_JWKS_URL": f"{auth}/.well-known/jwks.json",
        "AUTH_SESSION_URL": f"{auth}/api/v1/auth/session",
    }
    async with serving("portal-auth", auth_env, auth_port) as auth_base, \
            serving("portal-faq", faq_env, faq_port) as faq_base:
        yield auth_base, faq_base


async def _editor_token(auth: str, database_url: str) -> str:
    """An access token of an account with the role faq_editor, granted as operators do."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{auth}/api/v1/auth/register", json=registration()) as response:
            assert response.status == 202
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("UPDATE auth.accounts SET status = 'active'")
        finally:
            await conn.close()
        granted = await run_command(
            console_script("portal-auth"), "grant-role", "max@example.de", "faq_editor",
            env={**os.environ, "AUTH_DATABASE_URL": database_url},
        )
        assert granted.returncode == 0, granted.stderr
        login = {"email": "max@example.de", "password": GOOD_PASSWORD}
        async with http.post(f"{auth}/api/v1/auth/login", json=login) as response:
            assert response.status == 200
            return (await response.json())["access_token"]


async def test_the_openapi_document_describes_every_route(
    database_url: str, amqp_names: AmqpNames
) -> None:
    settings = FaqSettings(
        faq_database_url=database_url, amqp_url=amqp_names.url, events_exchange=amqp_names.exchange
    )
    async with running(create_app(settings)) as client:
        client: TestClient
        response = await client.get("/api/v1/faq/openapi.json")
        assert response.status == 200
        document = await response.json()
        routes = {
            (resource.canonical, route.method.lower())
            for resource in client.app.router.resources()
            for route in resource
            if route.method != "HEAD"
        }
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method) for path, ops in document["paths"].items() for method in ops
        if method != "parameters"
    }
    api = {
        (path.replace("{slug:[a-z0-9][a-z0-9-]{0,79}}", "{slug}"), method)
        for path, method in routes
        if path.startswith(("/api/v1/faq", "/api/v1/contact")) and not path.endswith("openapi.json")
    }
    assert api == documented


async def test_schemathesis_finds_no_5xx_and_no_undocumented_answer(
    auth_and_faq: tuple[str, str], database_url: str, tmp_path: Path
) -> None:
    auth, base = auth_and_faq
    token = await _editor_token(auth, database_url)
    report = tmp_path / "junit.xml"
    await run_schemathesis(f"{base}/api/v1/faq/openapi.json", base, token, report)
    # The token really was an editor's: the fuzzed edits reached the database.
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM faq.changes") > 0
    finally:
        await conn.close()
