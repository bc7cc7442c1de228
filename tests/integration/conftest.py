from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from portal_auth.app import create_app as create_auth_app
from portal_auth.config import AuthSettings
from portal_auth.passwords import Passwords
from portal_shared.events import Event, decode
from tests.conftest import AmqpNames
from tests.support import running

CUSTOMERS = [("10001", "Mustermann"), ("10002", "Müller"), ("10003", "Schmidt")]
GOOD_PASSWORD = "Sonne!Wind7Meer"


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    """One argon2 pool for the whole run: hashing is what these tests cost."""
    return Passwords()


@pytest.fixture
def auth_settings(database_url: str, amqp_names: AmqpNames, tmp_path: Path) -> AuthSettings:
    return AuthSettings(
        auth_database_url=database_url,
        amqp_url=amqp_names.url,
        events_exchange=amqp_names.exchange,
        jwt_key_dir=tmp_path / "keys",
    )


@pytest.fixture
async def customers(database_url: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO auth.customers (customer_number, last_name) VALUES ($1, $2)", CUSTOMERS
        )
    finally:
        await conn.close()
    return CUSTOMERS


class FakeClock:
    """Time that tests move by hand: expiry is tested by a clock, not by waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def auth_client(
    auth_settings: AuthSettings, customers: list, passwords: Passwords, clock: FakeClock
) -> AsyncIterator[TestClient]:
    async with running(create_auth_app(auth_settings, clock=clock, passwords=passwords)) as client:
        yield client


class Portal:
    """Drives the auth API the way the portal's pages do, and reads the events it emits."""

    def __init__(self, client: TestClient, database_url: str) -> None:
        self.client = client
        self.database_url = database_url

    async def post(  # type: ignore[no-untyped-def]
        self, path: str, body: dict | None = None, token: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        return await self.client.post(f"/api/v1/auth/{path}", json=body, headers=sent)

    async def events(self, event_type: str | None = None) -> list[Event]:
        conn = await asyncpg.connect(self.database_url)
        try:
            rows = await conn.fetch("SELECT body FROM auth.outbox ORDER BY id")
        finally:
            await conn.close()
        decoded = [decode(r["body"]) for r in rows]
        return [e for e in decoded if event_type in (None, e.envelope.event_type)]

    async def register(self, **overrides: object) -> str:
        """Register; returns the activation token the mail would carry."""
        response = await self.post("register", registration(**overrides))
        assert response.status == 202, await response.text()
        return (await self.events("registration-created"))[-1].payload.activation_token  # type: ignore[attr-defined]

    async def active_account(self, **overrides: object) -> dict:
        token = await self.register(**overrides)
        assert (await self.post("activate", {"token": token})).status == 200
        return registration(**overrides)

    async def login(
        self, email: str = "max@example.de", password: str = GOOD_PASSWORD, **extra: str
    ) -> dict:
        response = await self.post("login", {"email": email, "password": password, **extra})
        assert response.status == 200, await response.text()
        return await response.json()

    async def me(self, access_token: str) -> int:
        response = await self.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"})
        return response.status

    async def sql(self, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()


@pytest.fixture
def portal(auth_client: TestClient, database_url: str) -> Portal:
    return Portal(auth_client, database_url)


def registration(**overrides: object) -> dict:
    body = {
        "last_name": "Mustermann",
        "customer_number": "10001",
        "email": "max@example.de",
        "password": GOOD_PASSWORD,
        "accept_terms": True,
        "accept_privacy": True,
    }
    body.update(overrides)
    return body
