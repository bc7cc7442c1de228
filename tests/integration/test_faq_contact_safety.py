"""The contact form refuses what would end up unmailable or dangerous in a mail header:
an address no receipt can reach, a name that mail programs would decode into headers."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.integration.test_faq_contact import CONTACT, client, fetch, form, settings

pytestmark = pytest.mark.integration

__all__ = ["client", "settings"]  # fixtures


@pytest.mark.parametrize(
    "name",
    ["=?utf-8?q?Chef=0D=0ABcc=3A_x=40evil?=", "Erika =?iso-8859-1?q?M=FCller?=",
     "Erika\r\nBcc: x@evil.example", "Erika\u2028Bcc: x@evil.example"],
    ids=["encoded-word", "encoded-word-inside", "crlf", "line-separator"],
)
async def test_a_name_that_could_become_headers_is_refused(
    client: TestClient, database_url: str, name: str
) -> None:
    response = await client.post(CONTACT, json=form(name=name))

    assert response.status == 422
    body = await response.json()
    assert body["errors"] == [{"field": "name", "code": "invalid_characters"}]
    assert body["detail"] == "Die Eingaben sind unvollständig oder ungültig."
    assert body["title"] == "Ungültige Eingabe"
    assert await fetch(database_url, "SELECT 1 FROM faq.contact_requests") == []


async def test_an_address_whose_local_part_is_not_ascii_is_refused_with_its_own_problem(
    client: TestClient, database_url: str
) -> None:
    response = await client.post(CONTACT, json=form(email="jörg@example.de"))

    assert response.status == 422
    body = await response.json()
    assert body["code"] == "email_not_supported"
    assert body["errors"] == [{"field": "email", "code": "email_not_supported"}]
    assert "Umlaute" in body["detail"]
    assert await fetch(database_url, "SELECT 1 FROM faq.contact_requests") == []


async def test_an_internationalised_domain_is_accepted_and_stored_normalised(
    client: TestClient, database_url: str
) -> None:
    response = await client.post(CONTACT, json=form(email="Erika@XN--MLLER-KVA.de"))

    assert response.status == 202
    # Stored and sent to the mailer in Unicode; the mailer mails it as punycode.
    [stored] = await fetch(database_url, "SELECT email FROM faq.contact_requests")
    assert stored["email"] == "Erika@müller.de"
