"""Changing the e-mail address: a link to the new address, the switch when it is
confirmed, a notice to the old address; uniqueness, expiry, and what it voids."""

from __future__ import annotations

import pytest

from tests.integration.conftest import GOOD_PASSWORD, FakeClock, Portal, registration

pytestmark = pytest.mark.integration

NEW = "max.neu@example.de"


async def logged_in(portal: Portal) -> str:
    await portal.active_account()
    return (await portal.login())["access_token"]


async def ask(portal: Portal, token: str, new_email: str = NEW, password: str = GOOD_PASSWORD):  # type: ignore[no-untyped-def]
    return await portal.post("me/email", {"new_email": new_email, "password": password}, token=token)


async def confirm_link(portal: Portal) -> str:
    return (await portal.events("email-change-requested"))[-1].payload.confirm_token  # type: ignore[attr-defined]


async def test_the_new_address_confirms_and_the_old_one_is_told(portal: Portal) -> None:
    token = await logged_in(portal)
    asked = await ask(portal, token, "Max.Neu@Example.de")
    assert (asked.status, await asked.json()) == (202, {"status": "accepted"})
    [link_mail] = await portal.events("email-change-requested")
    # Stored and mailed as auth normalises addresses (the domain in lower case).
    assert (link_mail.payload.email, link_mail.payload.last_name) == ("Max.Neu@example.de", "Mustermann")
    # Nothing changes until the link is used.
    assert (await portal.sql("SELECT email FROM auth.accounts"))[0]["email"] == "max@example.de"
    await portal.login("max@example.de")

    confirmed = await portal.post("me/email/confirm", {"token": link_mail.payload.confirm_token})
    assert (confirmed.status, await confirmed.json()) == (200, {"status": "email_changed", "email": "Max.Neu@example.de"})
    [notice] = await portal.events("email-changed")
    assert (notice.payload.email, notice.payload.new_email) == ("max@example.de", "Max.Neu@example.de")

    await portal.login("max.neu@example.de")  # the new address, in any case
    old = await portal.post("login", {"email": "max@example.de", "password": GOOD_PASSWORD})
    assert old.status == 401
    assert await portal.me(token) == 200  # the session that asked goes on
    profile = await portal.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert (await profile.json())["email"] == "Max.Neu@example.de"


async def test_a_link_works_once_and_only_the_newest_works(portal: Portal) -> None:
    token = await logged_in(portal)
    await ask(portal, token, "erste@example.de")
    first = await confirm_link(portal)
    await ask(portal, token, "zweite@example.de")
    second = await confirm_link(portal)
    replaced = await portal.post("me/email/confirm", {"token": first})
    assert (replaced.status, (await replaced.json())["code"]) == (400, "token_invalid")
    assert (await portal.post("me/email/confirm", {"token": second})).status == 200
    again = await portal.post("me/email/confirm", {"token": second})
    assert (again.status, (await again.json())["code"]) == (400, "token_invalid")


async def test_the_link_expires(portal: Portal, clock: FakeClock) -> None:
    token = await logged_in(portal)
    await ask(portal, token)
    clock.advance(hours=24)
    expired = await portal.post("me/email/confirm", {"token": await confirm_link(portal)})
    body = await expired.json()
    assert (expired.status, body["code"]) == (410, "token_expired")
    assert "Mein Konto" in body["detail"]


async def test_the_password_is_needed_and_wrong_ones_count_against_confirmations(portal: Portal) -> None:
    token = await logged_in(portal)
    wrong = await ask(portal, token, password="Falsch!7Xq")
    body = await wrong.json()
    assert (wrong.status, body["code"], body["errors"]) == (
        422, "current_password_invalid", [{"field": "password", "code": "invalid"}])
    assert await portal.events("email-change-requested") == []
    # Counted for this account's confirmations (throttle: they lock, logins need a challenge).
    [failure] = await portal.sql(
        "SELECT f.failures FROM auth.login_failures f JOIN auth.accounts a ON f.key = 'confirm:' || a.id"
    )
    assert failure["failures"] == 1
    assert (await portal.post("me/email", {"new_email": NEW, "password": GOOD_PASSWORD})).status == 401


async def test_the_same_address_and_a_malformed_one_are_refused(portal: Portal) -> None:
    token = await logged_in(portal)
    same = await ask(portal, token, "MAX@example.de")
    assert (same.status, (await same.json())["code"]) == (422, "email_unchanged")
    malformed = await ask(portal, token, "kein-at-zeichen")
    assert (malformed.status, (await malformed.json())["errors"][0]["field"]) == (422, "new_email")
    umlaut = await ask(portal, token, "müller@example.de")  # the shared address rules
    assert (umlaut.status, (await umlaut.json())["code"]) == (422, "email_not_supported")


async def test_an_address_of_another_active_account_gets_no_link_and_the_same_answer(portal: Portal) -> None:
    await portal.active_account(customer_number="10002", last_name="Müller", email="erika@example.de")
    token = await logged_in(portal)
    taken = await ask(portal, token, "Erika@example.de")
    free = await ask(portal, token, "frei@example.de")
    assert (taken.status, await taken.json()) == (free.status, await free.json()) == (202, {"status": "accepted"})
    assert [e.payload.email for e in await portal.events("email-change-requested")] == ["frei@example.de"]


async def test_an_address_taken_meanwhile_is_a_clear_409(portal: Portal) -> None:
    token = await logged_in(portal)
    await ask(portal, token, "erika@example.de")
    link = await confirm_link(portal)
    await portal.active_account(customer_number="10002", last_name="Müller", email="erika@example.de")
    taken = await portal.post("me/email/confirm", {"token": link})
    body = await taken.json()
    assert (taken.status, body["code"]) == (409, "email_taken")
    assert "anderen Benutzerkonto" in body["detail"]
    english = await portal.post("me/email/confirm", {"token": link}, headers={"Accept-Language": "en"})
    assert "another account" in (await english.json())["detail"]
    emails = {r["email"] for r in await portal.sql("SELECT email FROM auth.accounts")}
    assert emails == {"max@example.de", "erika@example.de"}
    assert await portal.events("email-changed") == []


async def test_a_pending_registration_of_the_address_gives_way_to_the_confirmed_change(portal: Portal) -> None:
    token = await logged_in(portal)
    await portal.post("register", registration(customer_number="10002", last_name="Müller", email="erika@example.de"))
    await ask(portal, token, "erika@example.de")
    assert (await portal.post("me/email/confirm", {"token": await confirm_link(portal)})).status == 200
    rows = await portal.sql("SELECT customer_number, email FROM auth.accounts")
    assert [(r["customer_number"], r["email"]) for r in rows] == [("10001", "erika@example.de")]


async def test_the_change_voids_reset_links_sent_to_the_old_address(portal: Portal) -> None:
    token = await logged_in(portal)
    await portal.post("password/forgot", {"customer_number": "10001", "email": "max@example.de"})
    reset = (await portal.events("reset-requested"))[-1].payload.reset_token  # type: ignore[attr-defined]
    await ask(portal, token)
    assert (await portal.post("me/email/confirm", {"token": await confirm_link(portal)})).status == 200
    late = await portal.post("password/reset", {"token": reset, "password": "Dritte!Zeit9Ort"})
    assert late.status == 400


async def test_requests_are_limited_per_account(portal: Portal) -> None:
    token = await logged_in(portal)
    statuses = [(await ask(portal, token, f"neu{i}@example.de")).status for i in range(6)]
    assert statuses == [202] * 5 + [429]


async def test_the_confirmation_is_limited_per_client(portal: Portal) -> None:
    statuses = [(await portal.post("me/email/confirm", {"token": "A" * 43})).status for _ in range(31)]
    assert statuses == [400] * 30 + [429]
