"""The FAQ and the real auth service together: the FAQ asks auth for the editor's
session and current roles before every edit, so a revoked role or an ended session
stops editing at once, although the access token still names the role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import jwt
import pytest
from aiohttp.test_utils import TestClient

from portal_auth import accounts
from portal_faq.app import create_app as create_faq_app
from portal_faq.config import FaqSettings
from tests.conftest import AmqpNames
from tests.integration.conftest import Portal
from tests.support import running

pytestmark = pytest.mark.integration

CATEGORIES = "/api/v1/faq/categories"


@pytest.fixture
async def faq(database_url: str, amqp_names: AmqpNames, auth_client: TestClient) -> AsyncIterator[TestClient]:
    settings = FaqSettings(
        faq_database_url=database_url, amqp_url=amqp_names.url, events_exchange=amqp_names.exchange,
        auth_jwks_url=str(auth_client.make_url("/.well-known/jwks.json")),
        auth_session_url=str(auth_client.make_url("/api/v1/auth/session")),
    )
    async with running(create_faq_app(settings)) as client:
        yield client


async def editor_token(portal: Portal) -> str:
    await portal.active_account()
    await with_auth_schema(portal, accounts.grant_role)
    token = (await portal.login())["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["faq_editor"]
    return token


async def with_auth_schema(portal: Portal, change) -> None:  # type: ignore[no-untyped-def]
    """What `portal-auth grant-role` / `revoke-role` do, on the test's database."""
    conn = await asyncpg.connect(portal.database_url, server_settings={"search_path": "auth"})
    try:
        await change(conn, "max@example.de", "faq_editor")
    finally:
        await conn.close()


async def revoke_editor(portal: Portal) -> None:
    await with_auth_schema(portal, accounts.revoke_role)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_session_answers_the_roles_the_account_holds_now(portal: Portal) -> None:
    token = await editor_token(portal)
    answer = await portal.client.get("/api/v1/auth/session", headers=bearer(token))
    assert (answer.status, await answer.json()) == (200, {"roles": ["faq_editor"]})
    await revoke_editor(portal)
    answer = await portal.client.get("/api/v1/auth/session", headers=bearer(token))
    assert (answer.status, await answer.json()) == (200, {"roles": []})


async def test_a_revoked_role_ends_editing_before_the_access_token_expires(
    portal: Portal, faq: TestClient
) -> None:
    token = await editor_token(portal)
    created = await faq.post(CATEGORIES, json={"slug": "neu", "title": "Neu", "position": 99}, headers=bearer(token))
    assert created.status == 201, await created.text()
    await revoke_editor(portal)
    refused = await faq.delete(f"{CATEGORIES}/neu", headers=bearer(token))
    assert (refused.status, (await refused.json())["code"]) == (403, "forbidden")
    assert (await faq.get(f"{CATEGORIES}/neu")).status == 200


async def test_a_logout_ends_editing_at_once(portal: Portal, faq: TestClient) -> None:
    token = await editor_token(portal)
    assert (await portal.post("logout", token=token)).status == 204
    refused = await faq.post(CATEGORIES, json={"slug": "neu", "title": "Neu", "position": 99}, headers=bearer(token))
    assert refused.status == 401
