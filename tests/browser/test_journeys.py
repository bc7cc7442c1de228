"""Every journey of the customer's FAQ, done in a real browser as a customer would."""

from __future__ import annotations

import re

import aiohttp
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PASSWORD, Stack, live_rules_answered, look, new_page

NEW_PASSWORD = "Regen?Bogen8Feld"


async def register(page: Page, email: str, password: str = PASSWORD, last_name: str = "Mustermann",
                   customer_number: str = "10001") -> None:
    await page.goto("/registrieren")
    await page.get_by_label("Nachname", exact=True).fill(last_name)
    await page.get_by_label("Kundennummer", exact=True).fill(customer_number)
    await page.get_by_label("E-Mail-Adresse", exact=True).fill(email)
    await page.get_by_label("Passwort", exact=True).fill(password)
    await live_rules_answered(page)
    await page.get_by_label("Ich akzeptiere die Nutzungsbedingungen.").check()
    await page.get_by_label("Ich habe die Datenschutzerklärung gelesen und akzeptiere sie.").check()
    await page.get_by_role("button", name="jetzt registrieren").click()


async def activate(page: Page, stack: Stack, email: str) -> None:
    await page.goto(await stack.link_to(email, "/aktivieren"))
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist aktiviert")


async def activate_with_a_new_link(page: Page, stack: Stack, email: str) -> None:
    """From a page offering „Neuen Aktivierungslink anfordern“: ask for a new link and
    activate with it (the second mail to `email`)."""
    await page.get_by_role("link", name="Neuen Aktivierungslink anfordern").click()
    await page.get_by_label("E-Mail-Adresse").fill(email)
    await page.get_by_role("button", name="Neuen Link senden").click()
    await page.goto(await stack.link_to(email, "/aktivieren", count=2))
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist aktiviert")


async def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("E-Mail-Adresse").fill(email)
    await page.get_by_label("Passwort", exact=True).fill(password)
    await page.get_by_role("button", name="Einloggen").click()


async def active_account(page: Page, stack: Stack, email: str) -> None:
    await register(page, email)
    await expect(page).to_have_url(re.compile("/registrieren/bestaetigen$"))
    await activate(page, stack, email)


async def test_register_activate_login_change_password_logout_login(page: Page, stack: Stack) -> None:
    await register(page, "max@example.de")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte bestätigen Sie Ihre Registrierung")
    await expect(page.get_by_text("24 Stunden")).to_be_visible()
    await look(page, "register-sent")

    link = await stack.link_to("max@example.de", "/aktivieren")
    await page.goto(link)
    # The token leaves the address bar at once; opening the link spent nothing.
    await expect(page).to_have_url(re.compile(r"/aktivieren$"))
    assert (await stack.sql("SELECT status FROM auth.accounts"))[0]["status"] == "pending"
    await look(page, "activate")
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist aktiviert")
    await look(page, "activated")
    await page.get_by_role("link", name="Jetzt einloggen").click()

    await expect(page).to_have_url(re.compile("/login$"))
    await page.get_by_label("E-Mail-Adresse").fill("max@example.de")
    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Einloggen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    await expect(page.get_by_text("10001")).to_be_visible()
    await expect(page.get_by_text("max@example.de")).to_be_visible()
    await look(page, "account")

    await page.get_by_label("Aktuelles Passwort").fill(PASSWORD)
    await page.get_by_label("Neues Passwort").fill(NEW_PASSWORD)
    await live_rules_answered(page)
    await page.get_by_label("Passwort wiederholen").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Passwort ändern").click()
    await expect(page.get_by_role("status")).to_contain_text("Ihr Passwort wurde geändert")

    await page.get_by_role("button", name="Abmelden").first.click()
    await expect(page.get_by_role("status")).to_contain_text("Sie sind abgemeldet")
    await page.goto("/konto")
    await expect(page).to_have_url(re.compile(r"/login\?next=/konto"))

    await log_in(page, "max@example.de", PASSWORD)  # the old password no longer works
    await expect(page.get_by_role("alert")).to_contain_text("E-Mail-Adresse oder Passwort ist falsch")
    await log_in(page, "max@example.de", NEW_PASSWORD)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")


async def test_change_password_says_which_entry_is_wrong(page: Page, stack: Stack) -> None:
    await active_account(page, stack, "max@example.de")
    await log_in(page, "max@example.de")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")

    async def change(current: str, new: str) -> None:
        await page.get_by_label("Aktuelles Passwort").fill(current)
        await page.get_by_label("Neues Passwort").fill(new)
        await page.get_by_label("Passwort wiederholen").fill(new)
        await page.get_by_role("button", name="Passwort ändern").click()

    await change("Falsch!Wort7x", NEW_PASSWORD)  # a typo in the current password
    await expect(page.get_by_role("alert")).to_contain_text("Das aktuelle Passwort ist nicht korrekt.")
    await expect(page.get_by_label("Aktuelles Passwort")).to_have_attribute("aria-invalid", "true")

    await change(PASSWORD, PASSWORD)  # the password in use: breaks none of the listed rules
    await expect(page.get_by_role("alert")).to_contain_text("Dieses Passwort haben Sie vor Kurzem schon verwendet.")
    await expect(page.get_by_role("alert")).not_to_contain_text("siehe Liste unten")
    await look(page, "account-password-reused")


async def test_forgot_password_reset_login(page: Page, stack: Stack) -> None:
    await active_account(page, stack, "max@example.de")
    await page.goto("/login")
    await page.get_by_role("link", name="Passwort vergessen", exact=True).click()
    await look(page, "forgot")
    await page.get_by_label("Kundennummer").fill("10001")
    await page.get_by_label("Die bei uns hinterlegte E-Mail-Adresse").fill("max@example.de")
    await page.get_by_role("button", name="Link anfordern").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte sehen Sie in Ihrem Postfach nach")
    await look(page, "forgot-sent")

    await page.goto(await stack.link_to("max@example.de", "/passwort-zuruecksetzen", count=2))
    await expect(page).to_have_url(re.compile(r"/passwort-zuruecksetzen$"))
    await look(page, "reset")
    await page.get_by_label("Neues Passwort").fill(NEW_PASSWORD)
    await live_rules_answered(page)
    await page.get_by_label("Passwort wiederholen").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Passwort speichern").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Passwort geändert — jetzt einloggen")
    await look(page, "reset-done")
    await page.get_by_role("link", name="Jetzt einloggen").click()
    await log_in(page, "max@example.de", NEW_PASSWORD)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")


async def test_forgot_password_before_activation_points_to_a_new_activation_link(page: Page, stack: Stack) -> None:
    # A customer who registered but never activated believes to have an account and asks
    # for a new password: no reset mail can come, so the confirmation says what to do.
    await register(page, "max@example.de")
    await expect(page).to_have_url(re.compile("/registrieren/bestaetigen$"))
    await page.goto("/passwort-vergessen")
    await page.get_by_label("Kundennummer").fill("10001")
    await page.get_by_label("Die bei uns hinterlegte E-Mail-Adresse").fill("max@example.de")
    await page.get_by_role("button", name="Link anfordern").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte sehen Sie in Ihrem Postfach nach")
    await expect(page.get_by_text("Noch nicht aktiviert?")).to_be_visible()
    await activate_with_a_new_link(page, stack, "max@example.de")


async def test_reloading_a_link_page_after_the_token_left_the_address_bar_still_works(
    page: Page, stack: Stack
) -> None:
    # The script takes the token out of the address bar; a reload (F5) asks for the bare
    # path. The page must still activate / reset, not call a fresh link "ungültig".
    await register(page, "max@example.de")
    await expect(page).to_have_url(re.compile("/registrieren/bestaetigen$"))
    await page.goto(await stack.link_to("max@example.de", "/aktivieren"))
    await expect(page).to_have_url(re.compile(r"/aktivieren$"))
    await page.reload()
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist aktiviert")

    await page.goto("/passwort-vergessen")
    await page.get_by_label("Kundennummer").fill("10001")
    await page.get_by_label("Die bei uns hinterlegte E-Mail-Adresse").fill("max@example.de")
    await page.get_by_role("button", name="Link anfordern").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte sehen Sie in Ihrem Postfach nach")
    await page.goto(await stack.link_to("max@example.de", "/passwort-zuruecksetzen", count=2))
    await expect(page).to_have_url(re.compile(r"/passwort-zuruecksetzen$"))
    await page.reload()
    await page.get_by_label("Neues Passwort").fill(NEW_PASSWORD)
    await page.get_by_label("Passwort wiederholen").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Passwort speichern").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Passwort geändert — jetzt einloggen")
    await log_in(page, "max@example.de", NEW_PASSWORD)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")


async def test_wrong_customer_data_marks_fields_and_keeps_values(page: Page, stack: Stack) -> None:
    await register(page, "max@example.de", last_name="Musterfrau")
    summary = page.locator(".error-summary")
    await expect(summary).to_be_focused()
    await expect(summary).to_contain_text("Nachname und Kundennummer passen nicht zusammen")
    await expect(page).to_have_title(re.compile("^Fehler: "))
    await expect(page.get_by_label("Nachname", exact=True)).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Nachname", exact=True)).to_have_value("Musterfrau")
    await expect(page.get_by_label("E-Mail-Adresse", exact=True)).to_have_value("max@example.de")
    await expect(page.get_by_label("Passwort", exact=True)).to_have_value("")  # never sent back
    await look(page, "register-errors")
    await summary.get_by_role("link").first.click()
    await expect(page.get_by_label("Nachname", exact=True)).to_be_focused()


async def test_empty_form_lists_every_missing_field(page: Page, stack: Stack) -> None:
    await page.goto("/registrieren")
    await page.get_by_role("button", name="jetzt registrieren").click()
    links = page.locator(".error-summary a")
    await expect(links).to_have_count(6)
    await expect(links.first).to_have_text("Bitte geben Sie Ihren Nachnamen oder Firmennamen ein.")
    assert await stack.sql("SELECT 1 FROM auth.accounts") == []


async def test_weak_password_rules_tick_off_while_typing(page: Page, stack: Stack) -> None:
    await page.goto("/registrieren")
    rules = page.locator("#password-rules")
    await page.get_by_label("Passwort", exact=True).fill("abc")
    await expect(rules.locator('[data-rule="min_length"]')).to_have_class(re.compile("rule-unmet"))
    await expect(rules.locator('[data-rule="no_sequence"]')).to_have_class(re.compile("rule-unmet"))
    await expect(rules.locator("[data-rules-status]")).to_contain_text("Voraussetzungen erfüllt")
    await look(page, "register-live-rules")
    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await expect(rules.locator(".rule-unmet")).to_have_count(0)
    await expect(rules.locator(".rule-met")).to_have_count(await rules.locator("[data-rule]").count())
    await expect(rules.locator("meter")).to_be_visible()

    # The weak password sent anyway: the server marks the same rules, the field and the summary.
    await register(page, "max@example.de", password="abcdefgh")
    await expect(page.locator(".error-summary")).to_contain_text("erfüllt nicht alle Voraussetzungen")
    await expect(rules.locator('[data-rule="no_sequence"]')).to_have_class(re.compile("rule-unmet"))


async def test_the_strength_meter_appearing_moves_nothing_below_it(page: Page, stack: Stack) -> None:
    """Its room is kept from the start: when the first answer shows it, the checkboxes and
    the button stay where the customer is about to click."""
    await page.goto("/registrieren")
    button = page.get_by_role("button", name="jetzt registrieren")
    # Where it lies on the page (filling a field scrolls, which moves it in the window).
    on_page = "e => e.getBoundingClientRect().top + window.scrollY"
    before = await button.evaluate(on_page)
    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await live_rules_answered(page)
    assert await button.evaluate(on_page) == before


async def test_show_password_toggle(page: Page, stack: Stack) -> None:
    await page.goto("/login")
    field = page.get_by_label("Passwort", exact=True)
    await field.fill("geheim")
    await page.get_by_role("button", name=re.compile("^Anzeigen")).click()
    await expect(field).to_have_attribute("type", "text")
    await page.get_by_role("button", name=re.compile("^Verbergen")).click()
    await expect(field).to_have_attribute("type", "password")


async def test_expired_and_used_activation_links(page: Page, stack: Stack) -> None:
    await register(page, "max@example.de")
    link = await stack.link_to("max@example.de", "/aktivieren")
    await stack.sql("UPDATE auth.activation_tokens SET expires_at = now() - interval '1 minute'")
    await page.goto(link)
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Der Link ist abgelaufen")
    await expect(page.get_by_text("24 Stunden")).to_be_visible()
    await look(page, "activate-expired")
    await page.get_by_role("link", name="Erneut registrieren").click()
    await expect(page).to_have_url(re.compile("/registrieren$"))

    await register(page, "erika@example.de", customer_number="10002", last_name="Müller")
    fresh = await stack.link_to("erika@example.de", "/aktivieren")
    await page.goto(fresh)
    await page.get_by_role("button", name="Konto aktivieren").click()
    await page.goto(fresh)  # the same link a second time
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto ist bereits aktiviert")
    await look(page, "activate-used")
    await expect(page.get_by_role("main").get_by_role("link", name="Jetzt einloggen")).to_be_visible()

    await page.goto("/aktivieren?token=" + "A" * 43)  # a link that never was
    await page.get_by_role("button", name="Konto aktivieren").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Der Link ist ungültig oder wurde bereits verwendet"
    )
    await look(page, "activate-invalid")
    await expect(page.get_by_role("main").get_by_role("link", name="Einloggen")).to_be_visible()


async def test_too_many_attempts_from_one_address_say_how_long_and_point_to_forgot_password(
    page: Page, stack: Stack
) -> None:
    # Was: five failures locked the account. Accounts are never locked now (the next
    # attempts need a check the page solves, tests/browser/test_throttling.py); what
    # still waits is an IP address that guessed 30 times — here the browser's own.
    await active_account(page, stack, "max@example.de")
    async with aiohttp.ClientSession(stack.auth_url) as http:
        for i in range(30):
            async with http.post("/api/v1/auth/login", json={"email": f"k{i}@example.de", "password": "Falsch!9"}) as r:
                assert r.status == 401
    await log_in(page, "max@example.de", PASSWORD)
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Zu viele Versuche")
    await expect(alert).to_contain_text("Minute")
    await expect(alert).to_contain_text("Passwort vergessen")
    await look(page, "login-locked")


async def test_not_activated_login_looks_like_wrong_data(page: Page, stack: Stack) -> None:
    # Was: its own message ("noch nicht aktiviert"), which told anyone who registered an
    # address whether it had an account. Now the message for wrong data, which says a
    # pending account's mailbox gets a fresh activation link.
    await register(page, "max@example.de")
    await stack.link_to("max@example.de", "/aktivieren")
    await log_in(page, "max@example.de")
    await expect(page.get_by_role("alert")).to_contain_text("E-Mail-Adresse oder Passwort ist falsch")
    # The same words as for a wrong password, which also say where the fresh link goes.
    await expect(page.get_by_role("alert")).to_contain_text("neuen Aktivierungslink per E-Mail")
    await look(page, "login-wrong-data")
    await stack.link_to("max@example.de", "/aktivieren", count=2)


async def test_faq_browse_and_search(page: Page, stack: Stack) -> None:
    await page.goto("/faq")
    await look(page, "faq")
    await page.get_by_role("link", name=re.compile("Passwort vergessen")).first.click()
    await expect(page).to_have_url(re.compile("/faq/passwort-vergessen$"))
    await expect(page.get_by_role("main")).to_contain_text("Kundennummer")
    await look(page, "faq-entry")

    await page.goto("/faq")
    await page.get_by_label("FAQ durchsuchen").fill("Aktivierungslink")
    instant = page.locator("#faq-instant")
    await expect(instant).to_be_visible()
    await expect(instant.get_by_role("link").first).to_contain_text("Aktivierungslink")
    await page.get_by_role("button", name="Suchen").click()
    await expect(page).to_have_url(re.compile(r"/faq/suche\?q=Aktivierungslink"))
    await expect(page.locator(".results li").first).to_be_visible()
    # One question on the page: its label is the heading, not a second "FAQ durchsuchen".
    await expect(page.get_by_role("heading", level=1)).to_have_text("FAQ durchsuchen")
    await expect(page.get_by_label("FAQ durchsuchen")).to_have_value("Aktivierungslink")
    await expect(page.get_by_role("main").get_by_text("FAQ durchsuchen", exact=True)).to_have_count(1)
    await look(page, "faq-search")

    await page.goto("/faq/browser-und-cookies")
    await expect(page.get_by_role("main")).to_contain_text("nur sein eigenes Cookie")


async def test_contact_gives_a_case_number(page: Page, stack: Stack) -> None:
    await page.goto("/kontakt")
    await look(page, "contact")
    await page.get_by_label("Name").fill("Max Mustermann")
    await page.get_by_label("E-Mail-Adresse").fill("max@example.de")
    await page.get_by_label("Kundennummer").fill("10001")
    await page.get_by_label("Betreff").fill("Rechnung")
    await page.get_by_label("Ihre Nachricht").fill("Wo finde ich meine Rechnung?")
    await page.get_by_role("button", name="Nachricht senden").click()
    case = page.locator("[data-case-number]")
    await expect(case).to_have_text(re.compile("^[0-9A-F]{8}$"))
    await look(page, "contact-sent")
    receipt = await stack.sink.wait_for_mail_to("max@example.de", timeout=20)
    assert await case.text_content() in receipt.text


async def test_contact_is_prefilled_when_logged_in(page: Page, stack: Stack) -> None:
    await active_account(page, stack, "max@example.de")
    await log_in(page, "max@example.de")
    await page.goto("/kontakt")
    await expect(page.get_by_label("Kundennummer")).to_have_value("10001")
    await expect(page.get_by_label("E-Mail-Adresse")).to_have_value("max@example.de")


async def test_account_deletion(page: Page, stack: Stack) -> None:
    await active_account(page, stack, "max@example.de")
    await log_in(page, "max@example.de")
    await page.get_by_role("link", name="Benutzerkonto löschen").click()
    await expect(page.get_by_text("endgültig gelöscht")).to_be_visible()
    await look(page, "delete")
    await page.get_by_role("button", name="Benutzerkonto endgültig löschen").click()
    await expect(page.locator(".error-summary")).to_be_visible()  # password and confirmation missing
    await page.get_by_label("Passwort zur Bestätigung").fill(PASSWORD)
    await page.get_by_label("Ja, ich möchte mein Benutzerkonto endgültig löschen.").check()
    await page.get_by_role("button", name="Benutzerkonto endgültig löschen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Benutzerkonto wurde gelöscht")
    await look(page, "goodbye")
    assert await stack.sql("SELECT 1 FROM auth.accounts") == []
    await page.goto("/konto")
    await expect(page).to_have_url(re.compile("/login"))


async def test_english_by_switch_and_by_browser(page: Page, stack: Stack, browser: Browser) -> None:
    await page.goto("/registrieren")
    await page.get_by_role("link", name="English").click()
    await expect(page).to_have_url(re.compile("/registrieren$"))
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("button", name="Register now")).to_be_visible()
    await page.goto("/faq")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Questions and answers about the customer portal")
    await page.get_by_role("link", name="Deutsch").click()
    await expect(page.locator("html")).to_have_attribute("lang", "de")

    context, english = await new_page(browser, stack, locale="en-GB", extra_http_headers={"Accept-Language": "en"})
    try:
        await english.goto("/login")
        await expect(english.get_by_role("heading", level=1)).to_have_text("Log in")
        await expect(english.get_by_role("link", name="Forgot password")).to_be_visible()
    finally:
        await context.close()
