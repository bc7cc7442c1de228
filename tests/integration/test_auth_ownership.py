"""Proof of ownership beyond the invoice (issue 9): customer number and last name are
printed on every invoice, so an account must not be stolen or blocked with them alone.

- a code on file (sent by letter) must be given; wrong or missing = a wrong last name;
- an address on file must be used; another one creates nothing, the address on file
  is told;
- pending registrations of one customer number wait side by side until one activates;
  every registrant hears of the others.
"""

from __future__ import annotations

import pytest

from portal_auth.passwords import Passwords
from tests.integration.conftest import Portal, registration

pytestmark = pytest.mark.integration

CODE = "ABCD-EFGH-2345"


async def put_on_file(
    portal: Portal, passwords: Passwords, number: str = "10001",
    email: str | None = None, code: str | None = None,
) -> None:
    """What `portal-auth import-customers` stores for the optional columns."""
    code_hash = await passwords.hash(code.replace("-", "").upper()) if code else None
    await portal.sql(
        "UPDATE auth.customers SET email = $2, email_key = lower($2), registration_code_hash = $3"
        " WHERE customer_number = $1", number, email, code_hash,
    )


async def accounts(portal: Portal) -> list[tuple[str, str]]:
    rows = await portal.sql("SELECT email, status FROM auth.accounts ORDER BY created_at")
    return [(r["email"], r["status"]) for r in rows]


async def token_for(portal: Portal, address: str) -> str:
    created = [e for e in await portal.events("registration-created") if e.payload.email == address]
    return created[-1].payload.activation_token  # type: ignore[attr-defined]


# --- pending registrations of one customer number -------------------------------------


async def test_a_later_registration_no_longer_voids_the_owners_link_and_the_owner_is_told(
    portal: Portal,
) -> None:
    owner = await portal.register()
    assert (await portal.post("register", registration(email="thief@example.org"))).status == 202

    [contested] = await portal.events("registration-contested")
    assert (contested.payload.email, contested.payload.state) == ("max@example.de", "waiting")  # type: ignore[attr-defined]
    assert (await portal.post("activate", {"token": owner})).status == 200

    # The thief's link died with the owner's activation, and the thief is told.
    thief = await portal.post("activate", {"token": await token_for(portal, "thief@example.org")})
    assert (thief.status, (await thief.json())["code"]) == (400, "token_invalid")
    cancelled = (await portal.events("registration-contested"))[-1]
    assert (cancelled.payload.email, cancelled.payload.state) == ("thief@example.org", "cancelled")  # type: ignore[attr-defined]
    assert await accounts(portal) == [("max@example.de", "active")]


async def test_whoever_activates_first_the_other_registrant_learns_of_it(portal: Portal) -> None:
    await portal.register(email="thief@example.org")
    owner = await portal.register()
    waiting = (await portal.events("registration-contested"))[-1]
    assert waiting.payload.email == "thief@example.org"  # type: ignore[attr-defined]

    thief = await token_for(portal, "thief@example.org")
    assert (await portal.post("activate", {"token": thief})).status == 200
    assert (await portal.post("activate", {"token": owner})).status == 400
    told = (await portal.events("registration-contested"))[-1]
    assert (told.payload.email, told.payload.state, told.payload.customer_number) == (  # type: ignore[attr-defined]
        "max@example.de", "cancelled", "10001"
    )


# --- a code on file ---------------------------------------------------------------------


async def test_with_a_code_on_file_registration_needs_it_as_typed_from_the_letter(
    portal: Portal, passwords: Passwords
) -> None:
    await put_on_file(portal, passwords, code=CODE)
    wrong_name = await portal.post("register", registration(last_name="Musterfrau", registration_code=CODE))
    expected = (422, await wrong_name.json())
    assert expected[1]["code"] == "customer_mismatch"
    for code in (None, "", "ABCD-EFGH-2346"):
        body = registration() if code is None else registration(registration_code=code)
        answer = await portal.post("register", body)
        assert (answer.status, await answer.json()) == expected, code
    assert await accounts(portal) == []

    token = await portal.register(registration_code=" abcd efgh 2345 ")
    assert (await portal.post("activate", {"token": token})).status == 200
    assert await accounts(portal) == [("max@example.de", "active")]


async def test_wrong_codes_count_against_the_customer_number_like_wrong_last_names(
    portal: Portal, passwords: Passwords
) -> None:
    await put_on_file(portal, passwords, code=CODE)
    statuses = []
    for i in range(6):
        body = registration(registration_code=f"RATEN{i:04d}") if i % 2 else registration(last_name=f"Versuch{i}")
        statuses.append((await portal.post("register", body)).status)
    assert statuses == [422] * 5 + [429]


async def test_a_code_imported_while_a_registration_was_pending_must_be_proved_before_activation(
    portal: Portal, passwords: Passwords
) -> None:
    early = await portal.register(email="thief@example.org")
    await put_on_file(portal, passwords, code=CODE)
    refused = await portal.post("activate", {"token": early})
    assert (refused.status, (await refused.json())["code"]) == (400, "token_invalid")
    assert await accounts(portal) == []
    [audit] = await portal.sql("SELECT customer_number FROM auth.audit_log WHERE action = 'activation_refused'")
    assert audit["customer_number"] == "10001"


# --- an address on file -----------------------------------------------------------------


async def test_with_an_address_on_file_another_address_creates_nothing_and_the_address_on_file_is_told(
    portal: Portal, passwords: Passwords
) -> None:
    await put_on_file(portal, passwords, email="Max@Example.de")
    answer = await portal.post("register", registration(email="thief@example.org"))
    assert (answer.status, await answer.json()) == (202, {"status": "accepted"})
    assert await accounts(portal) == []
    assert await portal.events("registration-created") == []

    [refused] = await portal.events("registration-refused")
    payload = refused.payload
    assert (payload.email, payload.reason, payload.other_address) == (  # type: ignore[attr-defined]
        "Max@Example.de", "other_address", "t***@e***.org"
    )
    assert (payload.customer_number, payload.last_name) == ("10001", "Mustermann")  # type: ignore[attr-defined]
    [audit] = await portal.sql("SELECT detail FROM auth.audit_log WHERE action = 'registration_refused'")
    assert "thief" not in audit["detail"]

    # The address on file, however it is capitalised, registers as usual.
    token = await portal.register(email="max@example.de")
    assert (await portal.post("activate", {"token": token})).status == 200


async def test_an_address_imported_while_a_registration_was_pending_must_be_its_address(
    portal: Portal, passwords: Passwords
) -> None:
    thief = await portal.register(email="thief@example.org")
    owner = await portal.register()
    await put_on_file(portal, passwords, email="max@example.de")
    assert (await portal.post("activate", {"token": thief})).status == 400
    assert (await portal.post("activate", {"token": owner})).status == 200
    assert await accounts(portal) == [("max@example.de", "active")]


async def test_the_address_on_file_learns_who_holds_its_customer_number_and_nothing_is_created(
    portal: Portal, passwords: Passwords
) -> None:
    # Registered before the address was on file: the thief holds the customer number.
    await portal.active_account(email="thief@example.org")
    await put_on_file(portal, passwords, email="max@example.de")

    assert (await portal.post("register", registration())).status == 202
    [notice] = await portal.events("account-exists")
    assert notice.payload.email == "thief@example.org"  # type: ignore[attr-defined]
    [refused] = await portal.events("registration-refused")
    assert (refused.payload.email, refused.payload.reason, refused.payload.other_address) == (  # type: ignore[attr-defined]
        "max@example.de", "already_held", "t***@e***.org"
    )
    assert await accounts(portal) == [("thief@example.org", "active")]

    # "Passwort vergessen" with the address on file tells it the same; anyone else, nothing.
    forgot = {"customer_number": "10001", "email": "max@example.de"}
    assert (await portal.post("password/forgot", forgot)).status == 202
    assert (await portal.post("password/forgot", forgot | {"email": "x@example.de"})).status == 202
    refusals = await portal.events("registration-refused")
    assert [(r.payload.email, r.payload.reason) for r in refusals] == [  # type: ignore[attr-defined]
        ("max@example.de", "already_held"), ("max@example.de", "already_held")
    ]
    assert await portal.events("reset-requested") == []


async def test_without_anything_on_file_an_active_account_is_kept_and_its_owner_told(portal: Portal) -> None:
    await portal.active_account()
    assert (await portal.post("register", registration(email="thief@example.org"))).status == 202
    assert [e.payload.email for e in await portal.events("account-exists")] == ["max@example.de"]  # type: ignore[attr-defined]
    assert await portal.events("registration-refused") == []
    assert await accounts(portal) == [("max@example.de", "active")]
