"""The account features customers know from other portals, in a real browser: a new
activation link, "already activated", changing the e-mail address, and the list of
devices with ending a session elsewhere."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PASSWORD, Stack, look, new_page
from tests.browser.test_journeys import (
    activate,
    activate_with_a_new_link,
    active_account,
    log_in,
    register,
)


async def test_a_new_activation_link_replaces_the_first(page: Page, stack: Stack) -> None:
    await register(page, "max@example.de")
    first = await stack.link_to("max@example.de", "/aktivieren")
    await page.get_by_role("link", name="Aktivierungs-E-Mail erneut senden").click()
    await expect(page).to_have_url(re.compile("/registrieren/erneut-senden$"))
    await look(page, "resend")
    await page.get_by_label("E-Mail-Adresse").fill("max@example.de")
    await page.get_by_role("button", name="Neuen Link senden").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte sehen Sie in Ihrem Postfach nach")
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
    await activate_with_a_new_link(page, stack, "max@example.de")


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


async def test_changing_the_email_address_end_to_end(page: Page, stack: Stack) -> None:
    await active_account(page, stack, "max@example.de")
    await log_in(page, "max@example.de")
    await expect(page.get_by_role("heading", level=2, name="E-Mail-Adresse ändern")).to_be_visible()
    await page.get_by_label("Neue E-Mail-Adresse").fill("max.neu@example.de")
    await page.get_by_label("Passwort zur Bestätigung", exact=True).fill("Falsch!Passwort9")
    await page.get_by_role("button", name="Bestätigungslink senden").click()
    await expect(page.locator(".error-summary")).to_contain_text("Das Passwort ist nicht korrekt")
    await expect(page.get_by_label("Neue E-Mail-Adresse")).to_have_value("max.neu@example.de")
    await look(page, "account-email-error")

    await page.get_by_label("Passwort zur Bestätigung", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Bestätigungslink senden").click()
    await expect(page.get_by_role("status")).to_contain_text("Bestätigungslink an max.neu@example.de")
    await look(page, "account-email-sent")
    await expect(page.locator("dd", has_text="max@example.de")).to_be_visible()  # not yet changed

    # The link reaches the new address; opening it changes nothing, the button does.
    link = await stack.link_to("max.neu@example.de", "/email-bestaetigen")
    await page.goto(link)
    await expect(page).to_have_url(re.compile(r"/email-bestaetigen$"))
    await look(page, "email-confirm")
    assert (await stack.sql("SELECT email FROM auth.accounts"))[0]["email"] == "max@example.de"
    await page.get_by_role("button", name="E-Mail-Adresse bestätigen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihre E-Mail-Adresse wurde geändert")
    await expect(page.get_by_role("main")).to_contain_text("max.neu@example.de")
    await look(page, "email-confirmed")

    notice = await stack.sink.wait_for_mail_to("max@example.de", count=2, timeout=20)
    assert "max.neu@example.de" in notice.text and "token=" not in notice.text

    await page.get_by_role("link", name="Zu Mein Konto").click()
    await expect(page.locator("dd", has_text="max.neu@example.de")).to_be_visible()
    await page.get_by_role("button", name="Abmelden").first.click()
    await log_in(page, "max@example.de")  # the old address no longer works
    await expect(page.get_by_role("alert")).to_contain_text("E-Mail-Adresse oder Passwort ist falsch")
    await log_in(page, "max.neu@example.de")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")


async def test_a_used_email_link_is_invalid_and_an_unknown_one_too(page: Page, stack: Stack) -> None:
    await page.goto("/email-bestaetigen?token=" + "A" * 43)
    await page.get_by_role("button", name="E-Mail-Adresse bestätigen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Der Link ist ungültig oder wurde bereits verwendet")
    await look(page, "email-confirm-invalid")


FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def test_devices_are_listed_and_another_one_is_logged_out(page: Page, stack: Stack, browser: Browser) -> None:
    await active_account(page, stack, "max@example.de")
    await log_in(page, "max@example.de")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    other_context, other = await new_page(browser, stack, user_agent=FIREFOX_WINDOWS)
    try:
        await log_in(other, "max@example.de")
        await expect(other.get_by_role("heading", level=1)).to_have_text("Mein Konto")

        await page.goto("/konto")
        devices = page.locator(".device-list > li")
        await expect(devices).to_have_count(2)
        this_one = devices.filter(has_text="Dieses Gerät")
        firefox = devices.filter(has_text="Firefox (Windows)")
        await expect(this_one).to_have_count(1)
        await expect(this_one.get_by_role("button")).to_have_count(0)  # this one is left by „Abmelden“ above
        await expect(firefox).to_contain_text("127.0.0.*")
        await expect(firefox).to_contain_text("Zuletzt aktiv")
        await look(page, "account-devices")

        await firefox.get_by_role("button", name=re.compile("^Abmelden")).click()
        await expect(page.get_by_role("status")).to_contain_text("Das Gerät wurde abgemeldet.")
        await expect(devices).to_have_count(1)
        await expect(page.get_by_role("button", name="Alle anderen Geräte abmelden")).to_have_count(0)

        # The other browser's next page leads to the login.
        await other.goto("/konto")
        await expect(other).to_have_url(re.compile(r"/login\?"))
        await expect(other.get_by_role("status")).to_contain_text("Ihre Sitzung ist abgelaufen")

        # Logged in there again, and ended from here with all others at once.
        await log_in(other, "max@example.de")
        await expect(other.get_by_role("heading", level=1)).to_have_text("Mein Konto")
        await page.goto("/konto")
        await page.get_by_role("button", name="Alle anderen Geräte abmelden").click()
        await expect(page.get_by_role("status")).to_contain_text("Alle anderen Geräte wurden abgemeldet.")
        await expect(devices).to_have_count(1)
        await other.goto("/konto")
        await expect(other).to_have_url(re.compile(r"/login\?"))
        await page.goto("/konto")  # this browser stays logged in
        await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    finally:
        await other_context.close()
