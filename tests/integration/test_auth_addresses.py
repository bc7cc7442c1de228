"""Addresses at the auth API: internationalised domains work in any spelling, a local
part that is not ASCII is refused at once (the mailer could not send its link)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import GOOD_PASSWORD, Portal, registration

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("address", ["jörg@example.de", "jürgen@müller.de"])
async def test_registering_a_local_part_that_is_not_ascii_is_refused_with_its_own_problem(
    portal: Portal, address: str
) -> None:
    response = await portal.post("register", registration(email=address))

    assert response.status == 422
    assert response.headers["Content-Language"] == "de"
    body = await response.json()
    assert body["code"] == "email_not_supported"
    assert body["errors"] == [{"field": "email", "code": "email_not_supported"}]
    assert body["title"] == "E-Mail-Adresse nicht unterstützt"
    assert body["detail"].startswith("Diese E-Mail-Adresse können wir leider nicht verwenden")
    assert await portal.events() == []

    english = await portal.post("register", registration(email=address),
                                headers={"Accept-Language": "en"})
    body = await english.json()
    assert (english.headers["Content-Language"], body["code"]) == ("en", "email_not_supported")
    assert body["title"] == "E-mail address not supported"
    assert body["detail"].startswith("We cannot use this e-mail address")


async def test_other_mistakes_beside_it_keep_the_general_problem(portal: Portal) -> None:
    response = await portal.post("register", registration(email="jörg@example.de", last_name=""))

    body = await response.json()
    assert (response.status, body["code"]) == (422, "validation_error")
    assert {"field": "email", "code": "email_not_supported"} in body["errors"]


async def test_forgot_password_refuses_it_too(portal: Portal) -> None:
    response = await portal.post("password/forgot", {"customer_number": "10001", "email": "jörg@example.de"})

    assert response.status == 422
    assert (await response.json())["code"] == "email_not_supported"


async def test_an_internationalised_domain_is_one_address_in_any_spelling(portal: Portal) -> None:
    await portal.active_account(email="Max@MÜLLER.de")
    [created] = await portal.events("registration-created")
    # Stored and sent in Unicode (what the customer reads); the mailer sends it as punycode.
    assert created.payload.email == "Max@müller.de"  # type: ignore[attr-defined]

    await portal.login("max@xn--mller-kva.de", GOOD_PASSWORD)
    forgot = await portal.post("password/forgot",
                               {"customer_number": "10001", "email": "MAX@XN--MLLER-KVA.DE"})
    assert forgot.status == 202
    [reset] = await portal.events("reset-requested")
    assert reset.payload.email == "Max@müller.de"  # type: ignore[attr-defined]
    # Registering the punycode spelling again finds the account: its owner is told.
    again = await portal.post("register", registration(email="max@xn--mller-kva.de"))
    assert again.status == 202
    assert len(await portal.events("account-exists")) == 1


async def test_login_with_anything_typed_is_401_never_422(portal: Portal) -> None:
    for typed in ("jörg@example.de", "keine adresse", "max@localhost"):
        response = await portal.post("login", {"email": typed, "password": "x"})
        assert (response.status, (await response.json())["code"]) == (401, "invalid_credentials")
