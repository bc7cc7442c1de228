"""Every page, in German and in English: no WCAG 2.1 A/AA violation found by axe-core,
usable with the keyboard alone, and every journey still possible without JavaScript."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from portal_devtools.mailsink import free_port
from portal_web.app import create_app as create_portal_app
from portal_web.config import PortalSettings
from tests.browser.conftest import PASSWORD, Stack, api_active_account, look, new_page, screenshot

PUBLIC_PAGES = [
    "/", "/registrieren", "/registrieren/bestaetigen", "/registrieren/erneut-senden",
    "/registrieren/erneut-senden/gesendet", "/aktivieren?token=abc", "/login",
    "/passwort-vergessen", "/passwort-vergessen/gesendet", "/passwort-zuruecksetzen?token=abc", "/passwort-zuruecksetzen",
    "/passwort-zuruecksetzen/fertig", "/email-bestaetigen?token=abc", "/faq", "/faq/passwort-anforderungen", "/faq/suche?q=Passwort",
    "/faq/suche?q=Quittengelee", "/kontakt", "/kontakt/gesendet", "/impressum", "/datenschutz",
    "/nutzungsbedingungen", "/auf-wiedersehen", "/gibt-es-nicht",
]
ACCOUNT_PAGES = ["/konto", "/konto/loeschen", "/logout"]


@pytest.mark.parametrize("language", ["de", "en"])
async def test_every_page_passes_axe(browser: Browser, stack: Stack, language: str) -> None:
    context, page = await new_page(browser, stack, locale=f"{language}-DE",
                                   extra_http_headers={"Accept-Language": language})
    try:
        for path in PUBLIC_PAGES:
            await page.goto(path)
            await expect(page.locator("html")).to_have_attribute("lang", language)
            await look(page, f"{language}-{path.strip('/') or 'start'}")
        await api_active_account(stack, "max@example.de")
        await page.goto("/login")
        await page.locator("#email").fill("max@example.de")
        await page.locator("#password").fill(PASSWORD)
        await page.locator("main form button[type=submit]").click()
        await expect(page).to_have_url(re.compile("/konto$"))
        for path in ACCOUNT_PAGES:
            await page.goto(path)
            await expect(page.locator("html")).to_have_attribute("lang", language)
            await look(page, f"{language}-{path.strip('/')}")
        # A form sent back with errors, announced and marked.
        await page.goto("/kontakt")
        await page.locator("main form button[type=submit]").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        await look(page, f"{language}-kontakt-errors")
        assert page.foreign_requests == []  # type: ignore[attr-defined]
    finally:
        await context.close()


async def test_unavailable_service_gets_a_german_page(browser: Browser, stack: Stack) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    app = create_portal_app(PortalSettings(
        portal_database_url=stack.database_url, auth_api_url=dead, faq_api_url=dead, upstream_timeout_seconds=2,
    ))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    context = await browser.new_context(locale="de-DE")
    try:
        page = await context.new_page()
        response = await page.goto(str(server.make_url("/faq")))
        assert response is not None and response.status == 503
        await expect(page.get_by_role("heading", level=1)).to_have_text("Dienst vorübergehend nicht erreichbar")
        body = await page.content()
        assert "Traceback" not in body and "{" not in await page.locator("main").inner_text()
        await look(page, "unavailable")
        response = await page.goto(str(server.make_url("/")))  # the start page still works
        assert response is not None and response.status == 200
    finally:
        await context.close()
        await server.close()


async def _tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    target = page.locator(selector)
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} not reachable with Tab")


async def test_register_and_login_with_the_keyboard_only(page: Page, stack: Stack) -> None:
    await page.goto("/")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Zum Inhalt springen")).to_be_focused()
    await page.goto("/registrieren")
    await _tab_to(page, "#last_name")
    await page.keyboard.type("Mustermann")
    await _tab_to(page, "#customer_number")
    await page.keyboard.type("10001")
    await _tab_to(page, "#email")
    await page.keyboard.type("max@example.de")
    await _tab_to(page, "#password")
    await page.keyboard.type(PASSWORD)
    await _tab_to(page, "#accept_terms")
    await page.keyboard.press("Space")
    await _tab_to(page, "#accept_privacy")
    await page.keyboard.press("Space")
    await _tab_to(page, "form button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte bestätigen Sie Ihre Registrierung")

    await page.goto(await stack.link_to("max@example.de", "/aktivieren"))
    await _tab_to(page, "form button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist aktiviert")

    await page.goto("/login")
    await _tab_to(page, "#email")
    await page.keyboard.type("max@example.de")
    await _tab_to(page, "#password")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")


async def test_register_and_login_without_javascript(browser: Browser, stack: Stack) -> None:
    context, page = await new_page(browser, stack, java_script_enabled=False)
    try:
        await page.goto("/registrieren")
        # The server shows the password rules; a weak password comes back with them marked.
        await page.get_by_label("Nachname", exact=True).fill("Mustermann")
        await page.get_by_label("Kundennummer", exact=True).fill("10001")
        await page.get_by_label("E-Mail-Adresse", exact=True).fill("max@example.de")
        await page.get_by_label("Passwort", exact=True).fill("abcdefgh")
        await page.get_by_label("Ich akzeptiere die Nutzungsbedingungen.").check()
        await page.get_by_label("Ich habe die Datenschutzerklärung gelesen und akzeptiere sie.").check()
        await page.get_by_role("button", name="jetzt registrieren").click()
        await expect(page.locator('[data-rule="no_sequence"]')).to_have_class(re.compile("rule-unmet"))
        await expect(page.locator('[data-rule="min_length"]')).to_have_class(re.compile("rule-met"))
        await screenshot(page, "nojs-register-errors")  # axe itself needs scripts

        await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="jetzt registrieren").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte bestätigen Sie Ihre Registrierung")

        await page.goto(await stack.link_to("max@example.de", "/aktivieren"))
        await page.get_by_role("button", name="Konto aktivieren").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist aktiviert")

        await page.goto("/login")
        await page.get_by_label("E-Mail-Adresse").fill("max@example.de")
        await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Einloggen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")

        await page.goto("/faq/suche?q=Passwort")  # search without scripts: the server's list
        await expect(page.locator(".results li").first).to_be_visible()
    finally:
        await context.close()


async def test_pages_are_usable_at_200_percent_zoom(browser: Browser, stack: Stack) -> None:
    """WCAG 1.4.4/1.4.10: at 200 % (a 640 px wide viewport seen as 1280 px zoomed) and at
    320 CSS px nothing scrolls sideways."""
    for width in (640, 320):
        context, page = await new_page(browser, stack, viewport={"width": width, "height": 800})
        try:
            for path in ("/", "/registrieren", "/login", "/faq", "/kontakt"):
                await page.goto(path)
                overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{path} scrolls sideways at {width}px by {overflow}px"
        finally:
            await context.close()


async def test_web_server_for_unknown_paths_is_a_page(stack: Stack, browser: Browser) -> None:
    context, page = await new_page(browser, stack)
    try:
        response = await page.goto("/faq/gibt-es-nicht")
        assert response is not None and response.status == 404
        await expect(page.get_by_role("heading", level=1)).to_have_text("Seite nicht gefunden")
    finally:
        await context.close()


