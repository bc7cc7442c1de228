"""The contact form: validated, rate limited per client address, stored, and handed to
the mailer as a `contact-requested` event through the outbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aio_pika
import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from portal_faq.app import create_app
from portal_faq.config import FaqSettings
from portal_shared.events import ContactRequested, decode
from portal_shared.topology import RoutingKey
from tests.conftest import AmqpNames
from tests.support import running

pytestmark = pytest.mark.integration

CONTACT = "/api/v1/contact"


def form(**overrides: object) -> dict:
    body = {
        "name": "Erika Mustermann",
        "email": "erika@example.de",
        "customer_number": "10001",
        "subject": "Frage zur Rechnung",
        "message": "Guten Tag,\n\nwo finde ich meine Rechnung?\n\nViele Grüße",
    }
    body.update(overrides)
    return body


@pytest.fixture
def settings(database_url: str, amqp_names: AmqpNames) -> FaqSettings:
    return FaqSettings(
        faq_database_url=database_url,
        amqp_url=amqp_names.url,
        events_exchange=amqp_names.exchange,
        contact_max_per_hour=3,
        trusted_proxies=["127.0.0.0/8"],
    )


@pytest.fixture
async def client(settings: FaqSettings) -> AsyncIterator[TestClient]:
    async with running(create_app(settings)) as client:
        yield client


async def fetch(database_url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def test_a_submission_is_accepted_stored_and_queued_as_an_event(
    client: TestClient, database_url: str
) -> None:
    response = await client.post(CONTACT, json=form(), headers={"X-Request-ID": "req-42"})
    assert response.status == 202
    contact_id = (await response.json())["id"]

    [stored] = await fetch(database_url, "SELECT * FROM faq.contact_requests")
    assert str(stored["id"]) == contact_id
    assert (stored["name"], stored["email"], stored["customer_number"], stored["locale"]) == (
        "Erika Mustermann", "erika@example.de", "10001", "de"
    )
    assert stored["message"] == form()["message"]
    assert stored["client_ip"] == "127.0.0.1"

    [queued] = await fetch(database_url, "SELECT routing_key, body FROM faq.outbox")
    assert queued["routing_key"] == "faq.contact-requested"
    event = decode(queued["body"])
    assert isinstance(event.payload, ContactRequested)
    assert str(event.payload.contact_id) == contact_id
    assert event.payload.subject == "Frage zur Rechnung"
    assert event.envelope.correlation_id == "req-42"


async def test_the_event_reaches_the_broker(settings: FaqSettings, amqp_names: AmqpNames) -> None:
    connection = await aio_pika.connect(amqp_names.url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            amqp_names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(amqp_names.mailer_queue, durable=True)
        await queue.bind(exchange, RoutingKey.CONTACT_REQUESTED)
        async with running(create_app(settings)) as client:
            accepted = await client.post(CONTACT, json=form(locale="en"))
            assert accepted.status == 202
            contact_id = (await accepted.json())["id"]
            async with queue.iterator(timeout=10) as messages:
                async for message in messages:
                    await message.ack()
                    payload = json.loads(message.body)["payload"]
                    break
    assert payload["contact_id"] == contact_id
    assert payload["locale"] == "en"
    assert payload["email"] == "erika@example.de"


async def test_the_locale_follows_the_page_language_unless_given(
    client: TestClient, database_url: str
) -> None:
    await client.post(CONTACT, json=form(), headers={"Accept-Language": "en-GB"})
    await client.post(CONTACT, json=form(locale="de"), headers={"Accept-Language": "en"})
    await client.post(CONTACT, json=form(customer_number=None))
    stored = await fetch(
        database_url, "SELECT locale, customer_number FROM faq.contact_requests ORDER BY created_at"
    )
    assert [tuple(r) for r in stored] == [("en", "10001"), ("de", "10001"), ("de", None)]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"email": "keine-adresse"}, "email", "invalid_email"),
        ({"email": "a@b"}, "email", "invalid_email"),
        ({"name": ""}, "name", "too_short"),
        ({"name": "   "}, "name", "too_short"),
        ({"name": "x" * 201}, "name", "too_long"),
        ({"subject": "Hallo\r\nBcc: alle@example.de"}, "subject", "invalid_characters"),
        ({"message": "x" * 5001}, "message", "too_long"),
        ({"message": "Null\x00byte"}, "message", "invalid_characters"),
        ({"customer_number": "1" * 65}, "customer_number", "too_long"),
        ({"locale": "fr"}, "locale", "not_allowed"),
        ({"subject": None}, "subject", "not_a_string"),
        ({"telefon": "0800"}, "telefon", "unknown_field"),
    ],
    ids=["email-syntax", "email-no-domain", "name-empty", "name-blank", "name-long",
         "header-injection", "message-long", "control-char", "customer-number-long",
         "locale", "subject-null", "unknown-field"],
)
async def test_invalid_input_is_a_422_naming_the_field(
    client: TestClient, database_url: str, overrides: dict, field: str, code: str
) -> None:
    response = await client.post(CONTACT, json=form(**overrides))
    assert response.status == 422
    body = await response.json()
    assert {"field": field, "code": code} in body["errors"]
    assert await fetch(database_url, "SELECT 1 FROM faq.contact_requests") == []


async def test_details_are_german_by_default_and_english_when_asked(client: TestClient) -> None:
    german = await (await client.post(CONTACT, json=form(email="x"))).json()
    assert german["detail"] == "Die Eingaben sind unvollständig oder ungültig."
    english = await client.post(CONTACT, json=form(email="x"), headers={"Accept-Language": "en"})
    assert english.headers["Content-Language"] == "en"
    assert (await english.json())["detail"] == "The input is incomplete or invalid."
    not_json = await client.post(CONTACT, data=b"name=Erika")  # a plain form post
    assert (not_json.status, (await not_json.json())["code"]) == (415, "unsupported_media_type")
    broken = await client.post(CONTACT, data=b"{name", headers={"Content-Type": "application/json"})
    assert (broken.status, (await broken.json())["code"]) == (400, "invalid_json")


async def test_too_many_submissions_from_one_address_are_429(
    client: TestClient, database_url: str
) -> None:
    for _ in range(3):
        assert (await client.post(CONTACT, json=form())).status == 202
    refused = await client.post(CONTACT, json=form(), headers={"Accept-Language": "en"})
    assert refused.status == 429
    body = await refused.json()
    assert body["code"] == "too_many_attempts"
    assert body["detail"] == "Too many attempts. Please wait a moment and try again."
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    german = await (await client.post(CONTACT, json=form())).json()
    assert german["detail"].startswith("Zu viele Versuche.")
    assert len(await fetch(database_url, "SELECT 1 FROM faq.contact_requests")) == 3

    # Behind our proxy, each client is counted on its own.
    other = await client.post(CONTACT, json=form(), headers={"X-Forwarded-For": "203.0.113.7"})
    assert other.status == 202
    stored = await fetch(database_url, "SELECT client_ip FROM faq.contact_requests")
    assert "203.0.113.7" in {r["client_ip"] for r in stored}


async def test_invalid_submissions_do_not_use_up_the_limit(client: TestClient) -> None:
    for _ in range(5):
        assert (await client.post(CONTACT, json=form(email="kaputt"))).status == 422
    assert (await client.post(CONTACT, json=form())).status == 202
