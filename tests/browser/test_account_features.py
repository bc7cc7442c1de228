"""The account features customers know from other portals, in a real browser: a new
activation link, "already activated", changing the e-mail address, and the list of
devices with ending a session elsewhere."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import Stack, look
from tests.browser.test_journeys import activate, log_in, register


async def test_a_new_activation_link_replaces_the_first(page: Page, stack: Stack) -> None:
    await register(page, "max@example.de")
    first = await stack.link_to("max@example.de", "/aktivieren")
    await page.get_by_role("link", name="Aktivierungs-E-Mail erneut senden").click()
    await expect(page).to_have_url(re.compile("/registrieren/erneut-senden$"))
    await look(page, "resend")
    await page.get_by_label("E-Mail-Adresse").fill("max@example.de")
    await page.get_by_role("button", name="Neuen Link senden").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte sehen Sie in Ihr Postfach")
    await look(page, "resend-sent")

    second = await stack.link_to("max@example.de", "/aktivieren", count=2)
    assert second != first
    await page.goto(first)
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Der Link ist ungültig oder wurde bereits verwendet")
    await page.goto(second)
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist aktiviert")


async def test_an_expired_link_leads_to_a_new_one(page: Page, stack: Stack) -> None:
    await register(page, "max@example.de")
    link = await stack.link_to("max@example.de", "/aktivieren")
    await stack.sql("UPDATE auth.activation_tokens SET expires_at = now() - interval '1 minute'")
    await page.goto(link)
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Der Link ist abgelaufen")
    await page.get_by_role("link", name="Neuen Aktivierungslink anfordern").click()
    await page.get_by_label("E-Mail-Adresse").fill("max@example.de")
    await page.get_by_role("button", name="Neuen Link senden").click()
    await page.goto(await stack.link_to("max@example.de", "/aktivieren", count=2))
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist aktiviert")


async def test_a_used_activation_link_says_already_activated_and_leads_to_the_login(
    page: Page, stack: Stack
) -> None:
    await register(page, "max@example.de")
    await activate(page, stack, "max@example.de")
    await page.goto(await stack.link_to("max@example.de", "/aktivieren"))
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist bereits aktiviert")
    await expect(page.get_by_role("main")).to_contain_text("Bitte loggen Sie sich")
    await look(page, "activate-already-active")
    await page.get_by_role("link", name="Jetzt einloggen").click()
    await expect(page).to_have_url(re.compile("/login$"))
    await log_in(page, "max@example.de")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
