from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import Stack, look


async def test_start_page(page: Page, stack: Stack) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Willkommen im Kundenportal")
    await look(page, "start-de")
