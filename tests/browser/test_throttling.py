"""Guessing gets slow, the owner never waits — in a real browser: after several failed
logins the page's own script solves the check and the right password gets in; guesses
from other addresses never make the owner's browser (with its device cookie) solve one."""

from __future__ import annotations

import re

import aiohttp
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import (
    PASSWORD,
    Stack,
    api_active_account,
    live_rules_answered,
    look,
    new_page,
    screenshot,
)

EMAIL = "max@example.de"
WRONG = "Falsch!7Xq"
DONE = "Prüfung abgeschlossen. Sie können das Formular jetzt senden."
NO_SCRIPT = "Nach mehreren fehlgeschlagenen Versuchen ist für einen Moment JavaScript nötig"


async def fill_login(page: Page, password: str) -> None:
    await page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    await page.get_by_label("Passwort", exact=True).fill(password)


async def failed_logins(page: Page, times: int) -> None:
    await page.goto("/login")
    for _ in range(times):
        await fill_login(page, WRONG)
        await page.get_by_role("button", name="Einloggen").click()
        await expect(page.locator(".error-summary")).to_contain_text("E-Mail-Adresse oder Passwort ist falsch")


async def guess_from_elsewhere(stack: Stack, times: int) -> list[int]:
    """Wrong passwords from other addresses, straight at auth (it trusts 127.0.0.0/8)."""
    statuses = []
    async with aiohttp.ClientSession(stack.auth_url) as http:
        for i in range(times):
            async with http.post("/api/v1/auth/login", json={"email": EMAIL, "password": WRONG},
                                 headers={"X-Forwarded-For": f"203.0.113.{i + 1}"}) as response:
                statuses.append(response.status)
    return statuses


async def test_after_failed_logins_the_page_solves_the_check_and_the_right_password_gets_in(
    page: Page, stack: Stack
) -> None:
    await api_active_account(stack, EMAIL)
    await failed_logins(page, 4)
    await expect(page.locator("[data-challenge]")).to_have_count(0)  # no check after four

    await fill_login(page, WRONG)
    await page.get_by_role("button", name="Einloggen").click()
    # The fifth failure: the page prepares the check for the next attempt at once.
    status = page.locator("[data-challenge-status]")
    await expect(status).to_have_text(DONE)
    assert await page.locator("input[name=altcha]").input_value()
    await look(page, "login-check-done")

    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Einloggen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")


async def test_a_login_sent_before_the_check_is_done_waits_for_it(page: Page, stack: Stack) -> None:
    await api_active_account(stack, EMAIL)
    await guess_from_elsewhere(stack, 5)
    await page.goto("/login")
    await fill_login(page, PASSWORD)
    await page.get_by_role("button", name="Einloggen").click()
    # Unknown to the page beforehand: auth asks for the check; the page explains it.
    await expect(page.locator(".error-summary")).to_contain_text("kurze Prüfung nötig")
    await expect(page.locator("[data-challenge-status]")).to_have_text(re.compile("Roboter|abgeschlossen"))
    await screenshot(page, "login-check-needed")
    # Sent at once: the form waits for the check, then goes by itself.
    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Einloggen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")


async def test_guesses_from_elsewhere_never_make_the_owners_browser_solve_a_check(
    browser: Browser, stack: Stack
) -> None:
    await api_active_account(stack, EMAIL)
    context, page = await new_page(browser, stack)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/pruefung" in request.url else None)
    try:
        await page.goto("/login")
        await fill_login(page, PASSWORD)
        await page.get_by_role("button", name="Einloggen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
        [device] = [c for c in await context.cookies() if c["name"] == "portal_device"]
        assert device["httpOnly"] is True and device["sameSite"] == "Strict"
        await page.get_by_role("button", name="Abmelden").first.click()
        await expect(page.get_by_role("status")).to_contain_text("Sie sind abgemeldet")

        # Someone else guesses, from other addresses, until auth wants checks.
        assert await guess_from_elsewhere(stack, 8) == [401] * 5 + [428] * 3

        await fill_login(page, PASSWORD)
        await page.get_by_role("button", name="Einloggen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
        assert asked == []  # no check was fetched, none was needed
        assert page.foreign_requests == []  # type: ignore[attr-defined]
    finally:
        await context.close()

    # A browser without the device cookie does need the check (and solves it).
    context, page = await new_page(browser, stack)
    try:
        await page.goto("/login")
        await fill_login(page, PASSWORD)
        await page.get_by_role("button", name="Einloggen").click()
        await expect(page.locator("[data-challenge-status]")).to_have_text(DONE)
        await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Einloggen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    finally:
        await context.close()


async def test_after_wrong_last_names_the_registration_page_solves_the_check(page: Page, stack: Stack) -> None:
    async with aiohttp.ClientSession(stack.auth_url) as http:
        for i in range(5):
            body = {"last_name": f"Versuch{i}", "customer_number": "10001", "email": "x@example.de",
                    "password": PASSWORD, "accept_terms": True, "accept_privacy": True}
            async with http.post("/api/v1/auth/register", json=body,
                                 headers={"X-Forwarded-For": f"203.0.113.{i + 1}"}) as response:
                assert response.status == 422
    await page.goto("/registrieren")
    await fill_registration(page)
    await page.get_by_role("button", name="jetzt registrieren").click()
    # The first send learns that a check is needed; the page solves it ...
    await expect(page.locator(".error-summary")).to_contain_text("kurze Prüfung nötig")
    await expect(page.locator("[data-challenge-status]")).to_have_text(DONE)
    await look(page, "register-check-done")
    # ... and the second carries it.
    await fill_registration(page)
    await page.get_by_role("button", name="jetzt registrieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte bestätigen Sie Ihre Registrierung")


async def fill_registration(page: Page) -> None:
    await page.get_by_label("Nachname", exact=True).fill("Mustermann")
    await page.get_by_label("Kundennummer", exact=True).fill("10001")
    await page.get_by_label("E-Mail-Adresse", exact=True).fill(EMAIL)
    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await live_rules_answered(page)
    await page.get_by_label("Ich akzeptiere die Nutzungsbedingungen.").check()
    await page.get_by_label("Ich habe die Datenschutzerklärung gelesen und akzeptiere sie.").check()


async def test_without_javascript_the_page_says_what_the_check_needs(browser: Browser, stack: Stack) -> None:
    await api_active_account(stack, EMAIL)
    context, page = await new_page(browser, stack, java_script_enabled=False)
    try:
        await failed_logins(page, 5)
        status = page.locator("[data-challenge-status]")
        await expect(status).to_contain_text(NO_SCRIPT)
        await expect(status).to_contain_text("„Passwort vergessen“")
        await screenshot(page, "nojs-login-check")
        # The way out works without script.
        await page.get_by_role("link", name="Passwort vergessen", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Passwort vergessen")
    finally:
        await context.close()
