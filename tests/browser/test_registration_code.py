"""A customer who was sent a registration code by letter registers with it (issue 9):
without it, or with a wrong one, the page marks the field; with it, the account
activates as usual."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from portal_auth.passwords import Passwords
from tests.browser.conftest import PASSWORD, Stack, live_rules_answered, look, new_page
from tests.browser.test_journeys import activate

CODE_LABEL = "Registrierungscode (falls Sie einen per Brief erhalten haben)"


async def code_on_file(stack: Stack, passwords: Passwords, code: str = "ABCDEFGH2345") -> None:
    """What `portal-auth import-customers` stores for a `registration_code` column."""
    await stack.sql(
        "UPDATE auth.customers SET registration_code_hash = $1 WHERE customer_number = '10001'",
        await passwords.hash(code),
    )


async def register(page: Page, email: str, code: str | None) -> None:
    await page.goto("/registrieren")
    await page.get_by_label("Nachname", exact=True).fill("Mustermann")
    await page.get_by_label("Kundennummer", exact=True).fill("10001")
    if code is not None:
        await page.get_by_label(CODE_LABEL).fill(code)
    await page.get_by_label("E-Mail-Adresse", exact=True).fill(email)
    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await live_rules_answered(page)
    await page.get_by_label("Ich akzeptiere die Nutzungsbedingungen.").check()
    await page.get_by_label("Ich habe die Datenschutzerklärung gelesen und akzeptiere sie.").check()
    await page.get_by_role("button", name="jetzt registrieren").click()


async def expect_code_marked(page: Page) -> None:
    summary = page.locator(".error-summary")
    await expect(summary).to_be_focused()
    await expect(summary).to_contain_text("Haben Sie einen Registrierungscode per Brief erhalten")
    field = page.get_by_label(CODE_LABEL)
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_have_attribute("aria-describedby", "registration_code-hint registration_code-error")
    await expect(page.locator("#registration_code-error")).to_contain_text("genau wie im Brief")
    await expect(page).to_have_title(re.compile("^Fehler: "))


async def test_a_customer_with_a_code_registers_with_it_and_without_or_with_a_wrong_one_the_field_is_marked(
    page: Page, stack: Stack, passwords: Passwords
) -> None:
    await code_on_file(stack, passwords)
    await page.goto("/registrieren")
    code = page.get_by_label(CODE_LABEL)
    await expect(code).to_be_visible()
    await expect(code).not_to_have_attribute("required", "")
    await look(page, "register-code")

    await register(page, "max@example.de", code=None)
    await expect_code_marked(page)
    await look(page, "register-code-missing")
    await summary_link_focuses_the_code_field(page)

    await register(page, "max@example.de", code="ABCD-EFGH-9999")
    await expect_code_marked(page)
    await expect(page.get_by_label(CODE_LABEL)).to_have_value("ABCD-EFGH-9999")  # kept to correct it
    assert await stack.sql("SELECT 1 FROM auth.accounts") == []

    # As typed from the letter: lower case, with dashes.
    await register(page, "max@example.de", code="abcd-efgh-2345")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte bestätigen Sie Ihre Registrierung")
    await activate(page, stack, "max@example.de")
    [account] = await stack.sql("SELECT status, registered_with_code FROM auth.accounts")
    assert (account["status"], account["registered_with_code"]) == ("active", True)


async def summary_link_focuses_the_code_field(page: Page) -> None:
    await page.locator(".error-summary").get_by_role("link", name=re.compile("Registrierungscode")).click()
    await expect(page.get_by_label(CODE_LABEL)).to_be_focused()


async def test_customers_without_a_code_leave_the_field_empty_and_the_english_page_explains_it(
    page: Page, stack: Stack, browser: Browser
) -> None:
    await register(page, "max@example.de", code=None)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bitte bestätigen Sie Ihre Registrierung")

    context, english = await new_page(browser, stack, locale="en-GB", extra_http_headers={"Accept-Language": "en"})
    try:
        await english.goto("/registrieren")
        await expect(english.get_by_label("Registration code (if you received one by letter)")).to_be_visible()
        await expect(english.get_by_text("Without a letter, leave this field empty.")).to_be_visible()
        await look(english, "register-code-en")
    finally:
        await context.close()
