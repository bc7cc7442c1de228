"""The customer's own sessions: listed with device, coarse place, login and last use;
one ended, or all others."""

from __future__ import annotations

from ipaddress import ip_network
from uuid import uuid4

import pytest

from portal_auth.app import create_app
from portal_auth.config import AuthSettings
from portal_auth.passwords import Passwords
from tests.integration.conftest import GOOD_PASSWORD, FakeClock, Portal
from tests.support import running

pytestmark = pytest.mark.integration

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


async def login_as(portal: Portal, agent: str, email: str = "max@example.de") -> dict:
    response = await portal.post("login", {"email": email, "password": GOOD_PASSWORD}, headers={"User-Agent": agent})
    assert response.status == 200
    return await response.json()


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def listed(portal: Portal, tokens: dict) -> list[dict]:
    response = await portal.client.get("/api/v1/auth/me/sessions", headers=bearer(tokens))
    assert response.status == 200, await response.text()
    return (await response.json())["sessions"]


async def test_the_list_shows_each_device_coarsely_and_marks_the_current_one(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account()
    here = await login_as(portal, FIREFOX)
    clock.advance(minutes=5)
    phone = await login_as(portal, SAFARI)
    sessions = await listed(portal, here)
    assert [(s["device"], s["place"], s["current"]) for s in sessions] == [
        ("Safari (iPhone)", "127.0.0.*", False),  # used last, listed first
        ("Firefox (Windows)", "127.0.0.*", True),
    ]
    assert sessions[1]["created_at"] == sessions[1]["last_used_at"]

    clock.advance(minutes=5)
    refreshed = await portal.post("refresh", {"refresh_token": here["refresh_token"]})
    assert refreshed.status == 200
    again = await listed(portal, phone)
    assert [s["device"] for s in again] == ["Firefox (Windows)", "Safari (iPhone)"]
    assert again[0]["last_used_at"] > again[0]["created_at"]
    assert [s["current"] for s in again] == [False, True]
    assert (await portal.client.get("/api/v1/auth/me/sessions")).status == 401


async def test_ending_another_session_stops_its_tokens_at_once(portal: Portal) -> None:
    await portal.active_account()
    here, there = await login_as(portal, FIREFOX), await login_as(portal, SAFARI)
    [other] = [s for s in await listed(portal, here) if not s["current"]]
    ended = await portal.client.delete(f"/api/v1/auth/me/sessions/{other['id']}", headers=bearer(here))
    assert ended.status == 204
    assert await portal.me(there["access_token"]) == 401
    assert (await portal.post("refresh", {"refresh_token": there["refresh_token"]})).status == 401
    assert [s["current"] for s in await listed(portal, here)] == [True]
    again = await portal.client.delete(f"/api/v1/auth/me/sessions/{other['id']}", headers=bearer(here))
    assert (again.status, (await again.json())["code"]) == (404, "session_not_found")
    [row] = await portal.sql("SELECT count(*) AS n FROM auth.audit_log WHERE action = 'session_ended'")
    assert row["n"] == 1


async def test_nobody_ends_a_session_of_another_account(portal: Portal) -> None:
    await portal.active_account()
    await portal.active_account(customer_number="10002", last_name="Müller", email="erika@example.de")
    max_tokens = await login_as(portal, FIREFOX)
    erika = await login_as(portal, SAFARI, email="erika@example.de")
    [erikas] = await listed(portal, erika)
    refused = await portal.client.delete(f"/api/v1/auth/me/sessions/{erikas['id']}", headers=bearer(max_tokens))
    assert (refused.status, (await refused.json())["code"]) == (404, "session_not_found")
    assert await portal.me(erika["access_token"]) == 200
    for odd in (str(uuid4()), "-" * 36, "nicht-eine-uuid", "end-others"):
        response = await portal.client.delete(f"/api/v1/auth/me/sessions/{odd}", headers=bearer(max_tokens))
        assert response.status in (404, 405), odd
        assert response.content_type == "application/problem+json"


async def test_ending_all_other_sessions_keeps_this_one(portal: Portal) -> None:
    await portal.active_account()
    here, a, b = await login_as(portal, FIREFOX), await login_as(portal, SAFARI), await login_as(portal, SAFARI)
    response = await portal.post("me/sessions/end-others", token=here["access_token"])
    assert response.status == 204
    assert await portal.me(here["access_token"]) == 200
    assert await portal.me(a["access_token"]) == 401 and await portal.me(b["access_token"]) == 401
    assert len(await listed(portal, here)) == 1


async def test_a_logged_out_session_is_not_listed(portal: Portal) -> None:
    await portal.active_account()
    here, gone = await login_as(portal, FIREFOX), await login_as(portal, SAFARI)
    await portal.post("logout", token=gone["access_token"])
    assert [s["device"] for s in await listed(portal, here)] == ["Firefox (Windows)"]


async def test_the_browsers_agent_is_believed_only_from_a_trusted_proxy(
    portal: Portal, auth_settings: AuthSettings, passwords: Passwords, clock: FakeClock
) -> None:
    await portal.active_account()
    forwarded = {"User-Agent": "portal-web", "X-Client-User-Agent": FIREFOX, "X-Forwarded-For": "203.0.113.57"}
    body = {"email": "max@example.de", "password": GOOD_PASSWORD}
    direct = await (await portal.post("login", body, headers=forwarded)).json()
    assert [(s["device"], s["place"]) for s in await listed(portal, direct)] == [("portal-web", "127.0.0.*")]

    behind_proxy = auth_settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.1/32")]})
    async with running(create_app(behind_proxy, clock=clock, passwords=passwords)) as auth:
        tokens = await (await auth.post("/api/v1/auth/login", json=body, headers=forwarded)).json()
        response = await auth.get("/api/v1/auth/me/sessions", headers=bearer(tokens))
        mine = [s for s in (await response.json())["sessions"] if s["current"]]
    assert [(s["device"], s["place"]) for s in mine] == [("Firefox (Windows)", "203.0.113.*")]
    [row] = await portal.sql("SELECT place FROM auth.sessions WHERE place LIKE '203.%'")
    assert row["place"] == "203.0.113.*"  # the full address is not kept with the session
