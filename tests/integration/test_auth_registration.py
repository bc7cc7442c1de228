"""Registration and activation rules of the auth issue (FAQ: 24 hours, register again)."""

from __future__ import annotations

import pytest

from portal_auth import maintenance
from portal_auth.config import AuthSettings
from portal_auth.keys import POOL
from tests.integration.conftest import FakeClock, Portal, registration

pytestmark = pytest.mark.integration


async def test_an_address_with_an_active_account_gets_the_same_answer_and_its_owner_a_notice(
    portal: Portal,
) -> None:
    await portal.active_account()
    fresh = await portal.post("register", registration(customer_number="10002", last_name="Müller"))
    taken = await portal.post("register", registration(customer_number="10002", last_name="Müller"))
    assert fresh.status == taken.status == 202
    assert await fresh.json() == await taken.json()
    notices = await portal.events("account-exists")
    assert [n.payload.email for n in notices] == ["max@example.de", "max@example.de"]
    assert len(await portal.sql("SELECT 1 FROM auth.accounts")) == 1


async def test_a_customer_number_with_an_active_account_notifies_the_owner_not_the_caller(
    portal: Portal,
) -> None:
    await portal.active_account()
    response = await portal.post("register", registration(email="someone.else@example.de"))
    assert response.status == 202
    [notice] = await portal.events("account-exists")
    assert notice.payload.email == "max@example.de"
    assert len(await portal.events("registration-created")) == 1


async def test_registering_again_with_the_same_address_while_pending_replaces_the_link(portal: Portal) -> None:
    first = await portal.register()
    second = await portal.register()  # the new link goes to the same mailbox
    old = await portal.post("activate", {"token": first})
    assert (old.status, (await old.json())["code"]) == (400, "token_invalid")
    assert (await portal.post("activate", {"token": second})).status == 200
    assert [r["email"] for r in await portal.sql("SELECT email FROM auth.accounts")] == ["max@example.de"]


async def test_a_registration_from_another_address_keeps_the_earlier_link_until_one_is_activated(
    portal: Portal,
) -> None:
    first = await portal.register()
    second = await portal.register(email="max.new@example.de")
    assert (await portal.post("activate", {"token": second})).status == 200
    old = await portal.post("activate", {"token": first})
    assert (old.status, (await old.json())["code"]) == (400, "token_invalid")
    assert [r["email"] for r in await portal.sql("SELECT email FROM auth.accounts")] == ["max.new@example.de"]


async def test_the_link_expires_after_24_hours_and_the_customer_registers_again(
    portal: Portal, clock: FakeClock
) -> None:
    token = await portal.register()
    clock.advance(hours=24)
    expired = await portal.post("activate", {"token": token})
    body = await expired.json()
    assert (expired.status, body["code"]) == (410, "token_expired")
    assert "erneut" in body["detail"]
    again = await portal.register()
    assert (await portal.post("activate", {"token": again})).status == 200


async def test_the_link_still_works_just_before_24_hours(portal: Portal, clock: FakeClock) -> None:
    token = await portal.register()
    clock.advance(hours=23, minutes=59)
    assert (await portal.post("activate", {"token": token})).status == 200


async def test_expired_pending_registrations_are_purged_after_the_retention(
    portal: Portal, clock: FakeClock, auth_settings: AuthSettings
) -> None:
    await portal.register()
    pool = portal.client.app[POOL]
    clock.advance(hours=24 + 24 * auth_settings.expired_registration_retention_days - 1)
    assert await maintenance.purge_expired(pool, auth_settings, clock()) == 0
    clock.advance(hours=2)
    assert await maintenance.purge_expired(pool, auth_settings, clock()) == 1
    assert await portal.sql("SELECT 1 FROM auth.accounts") == []


async def test_consent_versions_are_stored_with_the_time(portal: Portal, clock: FakeClock) -> None:
    await portal.register()
    [row] = await portal.sql("SELECT terms_version, privacy_version, consented_at FROM auth.accounts")
    assert (row["terms_version"], row["privacy_version"]) == ("2026-01", "2026-01")
    assert row["consented_at"] == clock.now.replace(microsecond=row["consented_at"].microsecond)


async def test_a_used_activation_link_says_the_account_is_already_active(portal: Portal, clock: FakeClock) -> None:
    token = await portal.register()
    assert (await portal.post("activate", {"token": token})).status == 200
    again = await portal.post("activate", {"token": token})
    body = await again.json()
    assert (again.status, body["code"]) == (409, "already_activated")
    assert body["detail"] == "Ihr Benutzerkonto ist bereits aktiviert. Bitte loggen Sie sich ein."
    english = await portal.post("activate", {"token": token}, headers={"Accept-Language": "en"})
    assert (await english.json())["detail"] == "Your account is already activated. Please log in."
    clock.advance(hours=25)  # also once the link would have expired
    assert (await portal.post("activate", {"token": token})).status == 409
    [row] = await portal.sql("SELECT count(*) AS n FROM auth.audit_log WHERE action = 'account_activated'")
    assert row["n"] == 1  # nothing happened the second time


async def test_an_unknown_or_replaced_link_is_still_invalid(portal: Portal) -> None:
    first = await portal.register()
    await portal.register()  # the same address again: replaces the first registration
    replaced = await portal.post("activate", {"token": first})
    assert (replaced.status, (await replaced.json())["code"]) == (400, "token_invalid")
    unknown = await portal.post("activate", {"token": "A" * 43})
    assert (unknown.status, (await unknown.json())["code"]) == (400, "token_invalid")


async def test_tokens_are_stored_only_as_hashes(portal: Portal) -> None:
    token = await portal.register()
    [row] = await portal.sql("SELECT token_hash FROM auth.activation_tokens")
    assert len(row["token_hash"]) == 32
    assert token.encode() not in bytes(row["token_hash"])


async def test_registration_is_rate_limited_per_client(portal: Portal) -> None:
    statuses = []
    for i in range(11):
        response = await portal.post("register", registration(customer_number=f"2000{i}"))
        statuses.append(response.status)
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    assert int(response.headers["Retry-After"]) > 0
    assert (await response.json())["code"] == "too_many_attempts"


async def test_forms_refused_before_any_lookup_do_not_count_towards_the_limit(portal: Portal) -> None:
    # A password the rules refuse or a missed checkbox cost nothing and reveal nothing:
    # a customer correcting the form ten times still gets through.
    for i in range(6):
        weak = await portal.post("register", registration(password=f"kurz{i}"))
        assert (weak.status, (await weak.json())["code"]) == (422, "password_policy")
    for _ in range(5):
        unticked = await portal.post("register", registration(accept_terms=False))
        assert unticked.status == 422 and (await unticked.json())["code"] != "too_many_attempts"
    assert (await portal.post("register", registration())).status == 202


async def test_refused_forms_have_a_generous_limit_of_their_own(portal: Portal) -> None:
    statuses = [(await portal.post("register", registration(password="kurz"))).status for _ in range(61)]
    assert statuses[:60] == [422] * 60
    assert statuses[60] == 429


async def test_guessing_the_last_name_of_one_customer_number_needs_challenges_per_number(portal: Portal) -> None:
    statuses = []
    for i in range(6):
        response = await portal.post("register", registration(last_name=f"Versuch{i}"))
        statuses.append(response.status)
    # Was 429 for an hour (which also kept the real customer out); now each further
    # attempt needs a solved challenge (tests/integration/test_auth_throttling.py).
    assert statuses == [422] * 5 + [428]
