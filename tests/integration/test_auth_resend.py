"""Sending the activation mail again: POST /register/resend {email}, always 202."""

from __future__ import annotations

import pytest

from tests.integration.conftest import FakeClock, Portal

pytestmark = pytest.mark.integration

ACCEPTED = (202, {"status": "accepted"})


async def resend(portal: Portal, address: str = "max@example.de", ip: str | None = None) -> tuple[int, dict]:
    headers = {"X-Forwarded-For": ip} if ip else None
    response = await portal.post("register/resend", {"email": address}, headers=headers)
    return response.status, await response.json()


async def links(portal: Portal) -> list[str]:
    return [e.payload.activation_token for e in await portal.events("registration-created")]  # type: ignore[attr-defined]


async def test_a_pending_registration_gets_a_new_link_and_the_old_one_stops_working(portal: Portal) -> None:
    first = await portal.register()
    assert await resend(portal, "MAX@Example.de") == ACCEPTED
    [_, second] = await links(portal)
    [event] = (await portal.events("registration-created"))[1:]
    assert (event.payload.email, event.payload.last_name, event.payload.customer_number) == (
        "max@example.de", "Mustermann", "10001")
    old = await portal.post("activate", {"token": first})
    assert (old.status, (await old.json())["code"]) == (400, "token_invalid")
    assert (await portal.post("activate", {"token": second})).status == 200


async def test_an_expired_link_can_be_replaced_without_registering_again(portal: Portal, clock: FakeClock) -> None:
    await portal.register()
    clock.advance(hours=30)
    assert await resend(portal) == ACCEPTED
    new = (await links(portal))[-1]
    assert (await portal.post("activate", {"token": new})).status == 200


async def test_unknown_and_active_addresses_get_the_same_answer_and_no_mail(portal: Portal) -> None:
    await portal.active_account()
    assert await resend(portal, "nobody@example.de") == ACCEPTED
    assert await resend(portal, "max@example.de") == ACCEPTED
    assert len(await links(portal)) == 1  # the registration's own
    actions = await portal.sql("SELECT detail FROM auth.audit_log WHERE action = 'activation_resent'")
    assert len(actions) == 2


async def test_one_address_gets_at_most_three_links_an_hour_and_the_fourth_asker_sees_no_difference(
    portal: Portal, clock: FakeClock
) -> None:
    await portal.register()
    answers = [await resend(portal, ip=f"203.0.113.{i}") for i in range(5)]
    assert answers == [ACCEPTED] * 5
    assert len(await links(portal)) == 1 + 3
    clock.advance(hours=1)
    assert await resend(portal) == ACCEPTED
    assert len(await links(portal)) == 1 + 4


async def test_one_client_is_limited_across_addresses(portal: Portal) -> None:
    statuses = [(await portal.post("register/resend", {"email": f"a{i}@example.de"})).status for i in range(11)]
    assert statuses == [202] * 10 + [429]


async def test_a_malformed_address_is_422(portal: Portal) -> None:
    response = await portal.post("register/resend", {"email": "kein-at-zeichen"})
    assert (response.status, (await response.json())["code"]) == (422, "validation_error")
