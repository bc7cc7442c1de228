"""The portal's side of throttling without lock-outs, over HTTP against the whole stack:
the device cookie (set from auth's login answer, sent with the next logins), the
challenge proxy, the check embedded in the login and registration pages, and the same
message for a pending account as for wrong data."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from yarl import URL

from portal_web.app import create_app as create_portal_app
from portal_web.config import PortalSettings
from tests.browser import conftest as browser_stack
from tests.browser.conftest import LOCALHOST, PASSWORD, Stack
from tests.challenge_support import solve, solved
from tests.integration.test_portal_security import (
    EMAIL,
    active_account,
    csrf_token,
    log_in,
    new_browser,
    parsed_cookie,
    post,
    register,
    set_cookies,
)
from tests.support import running

stack = browser_stack.stack

pytestmark = pytest.mark.integration

DEVICE_COOKIE = "portal_device"
WRONG = "Falsch!7Xq"
WRONG_DATA = "E-Mail-Adresse oder Passwort ist falsch."
CHALLENGE_TEXT = "Nach mehreren fehlgeschlagenen Versuchen ist für einen Moment JavaScript nötig"


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_browser() as session:
        yield session


async def guess_directly_at_auth(stack: Stack, times: int, email: str = EMAIL) -> list[int]:
    """Wrong passwords from other addresses, straight at auth (it trusts 127.0.0.0/8)."""
    statuses = []
    async with aiohttp.ClientSession(stack.auth_url) as http:
        for i in range(times):
            async with http.post("/api/v1/auth/login", json={"email": email, "password": WRONG},
                                 headers={"X-Forwarded-For": f"203.0.113.{i + 1}"}) as response:
                statuses.append(response.status)
    return statuses


def device_cookie(client: aiohttp.ClientSession, stack: Stack) -> str | None:
    found = client.cookie_jar.filter_cookies(URL(stack.url)).get(DEVICE_COOKIE)
    return found.value if found is not None else None


# --- the device cookie ------------------------------------------------------------------


async def test_a_login_leaves_a_long_lived_httponly_device_cookie(stack: Stack, browser: aiohttp.ClientSession) -> None:
    await active_account(browser, stack)
    token = await csrf_token(browser, stack, "/login")
    async with browser.post(stack.url + "/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD},
                            allow_redirects=False) as response:
        assert response.status == 303
        cookies = dict(parsed_cookie(header) for header in set_cookies(response))
    device = cookies[DEVICE_COOKIE]
    assert device["httponly"] is True
    assert device["samesite"] == "Strict"
    assert device["path"] == "/"
    assert device["domain"] == ""
    assert int(device["max-age"]) == 180 * 24 * 3600
    assert "portal_session" in cookies  # the session cookie is a separate, short-lived one
    # It is auth's token, which the session cookie and the pages never show.
    assert device.value.count(".") == 2 and not device.value.startswith("eyJ")


async def test_over_https_the_device_cookie_has_the_host_prefix_and_is_secure(stack: Stack) -> None:
    settings = PortalSettings(
        portal_database_url=stack.database_url, portal_base_url="https://portal.example",
        auth_api_url=stack.auth_url, faq_api_url=stack.faq_url, trusted_proxies=LOCALHOST,
    )
    async with new_browser() as client:
        await active_account(client, stack)
    async with running(create_portal_app(settings)) as client:
        page = await client.get("/login")
        session = parsed_cookie(set_cookies(page)[0])[1].value
        token = (await page.text()).split('name="csrf_token" value="')[1].split('"')[0]
        response = await client.post(
            "/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD},
            headers={"Cookie": f"__Host-portal_session={session}", "Origin": "https://portal.example"},
            allow_redirects=False,
        )
        assert response.status == 303
        cookies = dict(parsed_cookie(header) for header in set_cookies(response))
    device = cookies["__Host-portal_device"]
    assert device["secure"] is True and device["httponly"] is True and device["path"] == "/"


async def test_guesses_from_elsewhere_never_make_the_owners_browser_need_a_check(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    await active_account(browser, stack)
    status, _, _ = await log_in(browser, stack)
    assert status == 303 and device_cookie(browser, stack)
    token = await csrf_token(browser, stack, "/konto")
    await post(browser, stack, "/logout", {"csrf_token": token})

    assert await guess_directly_at_auth(stack, 7) == [401] * 5 + [428] * 2
    status, headers, body = await log_in(browser, stack)  # the device cookie goes along
    assert (status, headers.get("Location")) == (303, "/konto"), body

    # A browser without the cookie is asked for the check instead.
    async with new_browser() as other:
        status, _, body = await log_in(other, stack)
    assert status == 428
    assert "data-challenge" in body and CHALLENGE_TEXT in body


async def test_an_overlong_device_cookie_is_not_passed_on(stack: Stack, browser: aiohttp.ClientSession) -> None:
    await active_account(browser, stack)
    browser.cookie_jar.update_cookies({DEVICE_COOKIE: "x" * 300}, URL(stack.url))
    status, _, _ = await log_in(browser, stack)
    assert status == 303


# --- the check in the pages ---------------------------------------------------------------


async def test_the_challenge_comes_through_the_portal(stack: Stack, browser: aiohttp.ClientSession) -> None:
    async with browser.get(stack.url + "/pruefung") as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        challenge = await response.json()
    assert set(challenge) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert challenge["algorithm"] == "SHA-256"


async def test_after_five_failures_the_login_page_embeds_the_check_and_takes_a_solution(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    await active_account(browser, stack)
    for attempt in range(5):
        status, _, body = await log_in(browser, stack, password=WRONG)
        assert status == 401 and WRONG_DATA in body
        assert ("data-challenge" in body) is (attempt == 4)  # the fifth prepares the check
    # Without a solution (no script): refused with a plain explanation, never a lock.
    status, _, body = await log_in(browser, stack)
    assert status == 428
    assert "Bitte geben Sie Ihr Passwort noch einmal ein" in body and CHALLENGE_TEXT in body
    assert "Passwort vergessen" in body

    token = await csrf_token(browser, stack, "/login")
    altcha = await solved(browser, stack.url + "/pruefung")
    status, headers, _ = await post(browser, stack, "/login", {
        "csrf_token": token, "email": EMAIL, "password": PASSWORD, "challenge": "1", "altcha": altcha,
    })
    assert (status, headers["Location"]) == (303, "/konto")


async def test_the_check_stays_on_the_page_after_a_form_error(stack: Stack, browser: aiohttp.ClientSession) -> None:
    token = await csrf_token(browser, stack, "/login")
    status, _, body = await post(browser, stack, "/login", {"csrf_token": token, "email": EMAIL, "challenge": "1"})
    assert status == 422 and "data-challenge" in body
    assert 'name="altcha" value=""' in body  # a solution is never shown again


async def test_after_five_wrong_last_names_the_registration_page_embeds_the_check(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    for i in range(5):
        token = await csrf_token(browser, stack, "/registrieren")
        status, _, body = await post(browser, stack, "/registrieren", {
            "csrf_token": token, "last_name": f"Versuch{i}", "customer_number": "10001", "email": EMAIL,
            "password": PASSWORD, "accept_terms": "yes", "accept_privacy": "yes",
        }, headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
        assert status == 422
    assert "data-challenge" in body and "schreiben Sie uns über „Kontakt“" in body
    status, _ = await register(browser, stack)
    assert status == 428

    token = await csrf_token(browser, stack, "/registrieren")
    async with browser.get(stack.url + "/pruefung") as response:
        altcha = solve(await response.json())
    status, headers, _ = await post(browser, stack, "/registrieren", {
        "csrf_token": token, "last_name": "Mustermann", "customer_number": "10001", "email": EMAIL,
        "password": PASSWORD, "accept_terms": "yes", "accept_privacy": "yes", "challenge": "1", "altcha": altcha,
    })
    assert (status, headers["Location"]) == (303, "/registrieren/bestaetigen")


async def test_a_garbled_solution_is_a_page_never_an_error(stack: Stack, browser: aiohttp.ClientSession) -> None:
    await guess_directly_at_auth(stack, 5)
    for altcha in ("x", "A" * 5000, base64.b64encode(json.dumps({"number": -1}).encode()).decode()):
        token = await csrf_token(browser, stack, "/login")
        status, _, body = await post(browser, stack, "/login", {
            "csrf_token": token, "email": EMAIL, "password": PASSWORD, "altcha": altcha,
        })
        assert status == 428 and "data-challenge" in body


# --- a pending account --------------------------------------------------------------------


async def test_a_pending_account_gets_the_wrong_data_message_and_its_mailbox_a_fresh_link(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    status, _ = await register(browser, stack)
    assert status == 303
    await stack.sink.wait_for_mail_to(EMAIL, count=1, timeout=20)
    status, _, body = await log_in(browser, stack)
    assert status == 401
    assert WRONG_DATA in body
    # Where to look for the fresh link, in words a wrong password gets as well: the page
    # must not tell a pending account from a wrong guess.
    assert "Ist Ihr Konto noch nicht aktiviert, schicken wir Ihnen bei richtigem Passwort" in body
    _, _, wrong_password = await log_in(browser, stack, password="Falsch!7Xq")
    assert _error_summary(wrong_password) == _error_summary(body)
    reminder = await stack.sink.wait_for_mail_to(EMAIL, count=2, timeout=20)
    assert "noch nicht aktiviert" in reminder.subject
    assert any("/aktivieren?token=" in link for link in reminder.links)


def _error_summary(page: str) -> str:
    found = re.search(r'<div class="error-summary".*?</ul>', page, re.DOTALL)
    assert found is not None
    return found.group(0)
