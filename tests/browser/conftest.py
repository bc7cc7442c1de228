"""The portal as customers meet it: a real Chromium (Debian's package, driven by
Playwright) against the whole stack — portal, auth, mailer, FAQ, PostgreSQL, RabbitMQ
and an aiosmtpd sink — each test with its own database and queues.

Screenshots of every page a test visits go to `var/screenshots/` (360 px and 1280 px).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from portal_auth.app import create_app as create_auth_app
from portal_auth.config import AuthSettings
from portal_auth.passwords import Passwords
from portal_devtools.mailsink import MailSink, free_port
from portal_faq.app import create_app as create_faq_app
from portal_faq.config import FaqSettings
from portal_mailer.app import create_app as create_mailer_app
from portal_web.app import create_app as create_portal_app
from portal_web.config import PortalSettings
from tests.conftest import AmqpNames
from tests.e2e.conftest import mailer_settings

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PASSWORD = "Sonne!Wind7Meer"
CUSTOMERS = [("10001", "Mustermann"), ("10002", "Müller")]
LOCALHOST = ["127.0.0.0/8"]

pytestmark = pytest.mark.integration
# Conditions are awaited, never slept on; on a busy 2-core machine give them room.
expect.set_options(timeout=15_000)


@dataclass
class Stack:
    url: str
    database_url: str
    sink: MailSink
    auth_url: str
    faq_url: str

    async def sql(self, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def link_to(self, address: str, path: str, count: int = 1) -> str:
        """The portal link (`/aktivieren?…`, `/passwort-zuruecksetzen?…`) of the
        `count`-th mail to `address`, made relative to this stack's portal."""
        mail = await self.sink.wait_for_mail_to(address, count=count, timeout=20)
        link = next(link for link in mail.links if urlsplit(link).path == path)
        assert link.startswith(self.url), link
        return link


async def api_active_account(stack: Stack, email: str, customer: tuple[str, str] = CUSTOMERS[0]) -> None:
    """An active account made through the auth API (for tests about other pages)."""
    body = {
        "last_name": customer[1], "customer_number": customer[0], "email": email, "password": PASSWORD,
        "accept_terms": True, "accept_privacy": True,
    }
    async with aiohttp.ClientSession(stack.auth_url) as http:
        async with http.post("/api/v1/auth/register", json=body) as response:
            assert response.status == 202, await response.text()
        token = parse_qs(urlsplit(await stack.link_to(email, "/aktivieren")).query)["token"][0]
        async with http.post("/api/v1/auth/activate", json={"token": token}) as response:
            assert response.status == 200, await response.text()


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    return Passwords()


async def _serve(app: web.Application, port: int | None = None) -> TestServer:
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    return server


@pytest.fixture
async def stack(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, tmp_path: Path, passwords: Passwords
) -> AsyncIterator[Stack]:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany("INSERT INTO auth.customers (customer_number, last_name) VALUES ($1, $2)", CUSTOMERS)
    finally:
        await conn.close()
    portal_port = free_port()
    portal_url = f"http://127.0.0.1:{portal_port}"
    auth = await _serve(create_auth_app(AuthSettings(
        auth_database_url=database_url, amqp_url=amqp_names.url, events_exchange=amqp_names.exchange,
        jwt_key_dir=tmp_path / "keys", trusted_proxies=LOCALHOST,
    ), passwords=passwords))
    faq = await _serve(create_faq_app(FaqSettings(
        faq_database_url=database_url, amqp_url=amqp_names.url, events_exchange=amqp_names.exchange,
        trusted_proxies=LOCALHOST,
        auth_jwks_url=f"{auth.make_url('/.well-known/jwks.json')}",
        auth_session_url=f"{auth.make_url('/api/v1/auth/session')}",
    )))
    settings = mailer_settings(database_url, amqp_names, smtp_sink).model_copy(update={"portal_base_url": portal_url})
    mailer = await _serve(create_mailer_app(settings))
    portal = await _serve(create_portal_app(PortalSettings(
        portal_database_url=database_url, portal_base_url=portal_url,
        auth_api_url=str(auth.make_url("")), faq_api_url=str(faq.make_url("")),
        trusted_proxies=LOCALHOST,
    )), port=portal_port)
    try:
        yield Stack(portal_url, database_url, smtp_sink, str(auth.make_url("")), str(faq.make_url("")))
    finally:
        for server in (portal, mailer, faq, auth):
            await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def new_page(browser: Browser, stack: Stack, **options: object) -> tuple[BrowserContext, Page]:
    options.setdefault("locale", "de-DE")
    context = await browser.new_context(base_url=stack.url, **options)  # type: ignore[arg-type]
    # Nothing but the portal itself may be asked for anything (no CDN, no fonts, no trackers).
    foreign: list[str] = []

    def watch(request) -> None:  # type: ignore[no-untyped-def]
        if not request.url.startswith(stack.url) and not request.url.startswith("data:"):
            foreign.append(request.url)

    context.on("request", watch)
    page = await context.new_page()
    page.foreign_requests = foreign  # type: ignore[attr-defined]
    return context, page


@pytest.fixture
async def page(browser: Browser, stack: Stack) -> AsyncIterator[Page]:
    context, opened = await new_page(browser, stack)
    yield opened
    assert opened.foreign_requests == []  # type: ignore[attr-defined]
    await context.close()


async def live_rules_answered(page: Page) -> None:
    """After typing into a password field with live rules: wait until the page shows the
    portal's answer (the strength meter becomes visible). Its room is kept from the start,
    so nothing moves any more; the wait keeps the steps in the customer's order."""
    await expect(page.locator("[data-strength]")).to_be_visible()


async def check_accessibility(page: Page) -> None:
    """axe-core on the page as it is now: no WCAG 2.1 A/AA violation."""
    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, results.generate_report()


async def screenshot(page: Page, name: str) -> None:
    """The page at phone width and at desktop width, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1280, "height": 800}
    safe = re.sub(r"[^a-z0-9_.-]+", "-", name.lower())
    for width in (360, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=str(SCREENSHOTS / f"{safe}-{width}.png"), full_page=True)
    await page.set_viewport_size(size)


async def look(page: Page, name: str) -> None:
    """Every page a test visits: accessible, and photographed."""
    await check_accessibility(page)
    await screenshot(page, name)
