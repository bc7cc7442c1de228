from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from portal_auth.app import create_app as create_auth_app
from portal_auth.config import AuthSettings
from portal_auth.passwords import Passwords
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


@pytest.fixture
async def auth_client(
    auth_settings: AuthSettings, customers: list, passwords: Passwords
) -> AsyncIterator[TestClient]:
    async with running(create_auth_app(auth_settings, passwords=passwords)) as client:
        yield client


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
