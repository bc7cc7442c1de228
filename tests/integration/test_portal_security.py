"""The portal's edge over HTTP, against the whole stack (portal, auth, mailer, FAQ, a
per-test database, RabbitMQ, an SMTP sink): CSRF, the session cookie and its rotation,
security headers, no tokens in what the browser sees, the customer's IP reaching auth,
no enumeration, sessions ending, and no 500 on odd input."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from http.cookies import Morsel, SimpleCookie
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from yarl import URL

from portal_web.app import create_app as create_portal_app
from portal_web.config import PortalSettings
from portal_web.pages.account import FORM_SECTIONS
from tests.browser import conftest as browser_stack
from tests.browser.conftest import LOCALHOST, PASSWORD, Stack
from tests.support import eventually, running

# The whole stack of the browser tests (fixtures of tests/browser are not visible here).
stack = browser_stack.stack

pytestmark = pytest.mark.integration

COOKIE = "portal_session"
EMAIL = "max@example.de"
NEW_PASSWORD = "Regen?Baum4Feld"
_CSRF_INPUT = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]*)">')
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.IGNORECASE | re.DOTALL)


# --- helpers --------------------------------------------------------------------------


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps cookies like a browser (also for 127.0.0.1) and follows no
    redirect on its own."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def new_browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def cookieless() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())


def session_cookie(client: aiohttp.ClientSession, stack: Stack) -> str | None:
    found = client.cookie_jar.filter_cookies(URL(stack.url)).get(COOKIE)
    return found.value if found is not None else None


async def csrf_token(client: aiohttp.ClientSession, stack: Stack, path: str) -> str:
    """GET a page with a form; its hidden CSRF token (the cookie stays in the jar)."""
    async with client.get(stack.url + path, allow_redirects=False) as response:
        assert response.status == 200, (path, response.status)
        match = _CSRF_INPUT.search(await response.text())
    assert match is not None and match.group(1), path
    return match.group(1)


async def post(
    client: aiohttp.ClientSession, stack: Stack, path: str, data: dict[str, str],
    headers: dict[str, str] | None = None,
) -> tuple[int, dict, str]:
    async with client.post(stack.url + path, data=data, headers=headers, allow_redirects=False) as response:
        return response.status, dict(response.headers), await response.text()


async def get(client: aiohttp.ClientSession, url: str | URL) -> tuple[int, aiohttp.ClientResponse, str]:
    async with client.get(url, allow_redirects=False) as response:
        return response.status, response, await response.text()


def assert_german_page(headers: dict, body: str) -> None:
    assert headers["Content-Type"].startswith("text/html"), headers["Content-Type"]
    assert '<html lang="de">' in body
    assert "Traceback" not in body and "aiohttp" not in body
    assert not body.lstrip().startswith(("{", "["))
    assert "application/json" not in headers["Content-Type"]


def set_cookies(response: aiohttp.ClientResponse) -> list[str]:
    return response.headers.getall("Set-Cookie", [])


def parsed_cookie(header: str) -> tuple[str, Morsel[str]]:
    jar: SimpleCookie = SimpleCookie()
    jar.load(header)
    ((name, morsel),) = jar.items()
    return name, morsel


async def mail_link(stack: Stack, address: str, path: str, nth: int = 1) -> str:
    """The `nth` link to `path` in the mails to `address` (whatever else they were sent)."""

    def links() -> list[str]:
        return [
            link for mail in stack.sink.to(address) for link in mail.links if urlsplit(link).path == path
        ]

    await stack.sink.wait_for(lambda _: len(links()) >= nth, timeout=20)
    return links()[nth - 1]


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def register(client: aiohttp.ClientSession, stack: Stack, email: str = EMAIL,
                   customer: tuple[str, str] = ("10001", "Mustermann")) -> tuple[int, dict]:
    token = await csrf_token(client, stack, "/registrieren")
    status, headers, _ = await post(client, stack, "/registrieren", {
        "csrf_token": token, "last_name": customer[1], "customer_number": customer[0], "email": email,
        "password": PASSWORD, "accept_terms": "yes", "accept_privacy": "yes",
    })
    return status, headers


async def active_account(client: aiohttp.ClientSession, stack: Stack, email: str = EMAIL) -> None:
    """Register through the portal's form and activate with the mailed link."""
    status, headers = await register(client, stack, email)
    assert (status, headers["Location"]) == (303, "/registrieren/bestaetigen")
    link = await mail_link(stack, email, "/aktivieren")
    token = await csrf_token(client, stack, "/aktivieren?" + urlsplit(link).query)
    status, _, body = await post(client, stack, "/aktivieren", {"csrf_token": token, "token": token_of(link)})
    assert status == 200, body


async def log_in(client: aiohttp.ClientSession, stack: Stack, email: str = EMAIL,
                 password: str = PASSWORD) -> tuple[int, dict, str]:
    token = await csrf_token(client, stack, "/login")
    return await post(client, stack, "/login", {"csrf_token": token, "email": email, "password": password})


async def logged_in(client: aiohttp.ClientSession, stack: Stack) -> None:
    await active_account(client, stack)
    status, headers, body = await log_in(client, stack)
    assert (status, headers.get("Location")) == (303, "/konto"), body


async def konto_status(stack: Stack, cookie: str) -> tuple[int, str]:
    """GET /konto with exactly this cookie value (no jar)."""
    async with cookieless() as client, client.get(
        stack.url + "/konto", headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False
    ) as response:
        return response.status, response.headers.get("Location", "")


# --- CSRF -----------------------------------------------------------------------------

POST_PATHS = ["/login", "/registrieren", "/passwort-vergessen", "/kontakt", "/logout"]
# The page whose form posts to the path (logout is a button on every page).
FORM_PAGE = {"/login": "/login", "/registrieren": "/registrieren", "/passwort-vergessen": "/passwort-vergessen",
             "/kontakt": "/kontakt", "/logout": "/login"}


@pytest.mark.parametrize("path", POST_PATHS)
async def test_a_post_without_cookie_or_token_is_refused_with_a_german_page(stack: Stack, path: str) -> None:
    async with cookieless() as client:
        status, headers, body = await post(client, stack, path, {"email": EMAIL})
    assert status == 403
    assert_german_page(headers, body)
    assert "Formular abgelaufen" in body


async def test_a_post_with_the_session_cookie_but_without_a_token_is_refused(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    for path in POST_PATHS:
        await csrf_token(browser, stack, FORM_PAGE[path])
        assert session_cookie(browser, stack)
        status, headers, body = await post(browser, stack, path, {"email": EMAIL})
        assert status == 403, path
        assert_german_page(headers, body)
        assert "Formular abgelaufen" in body


async def test_a_post_with_a_wrong_token_is_refused(stack: Stack, browser: aiohttp.ClientSession) -> None:
    for path in POST_PATHS:
        right = await csrf_token(browser, stack, FORM_PAGE[path])
        for wrong in (right[:-1], right + "x", "x" * len(right), ""):
            status, headers, body = await post(browser, stack, path, {"csrf_token": wrong})
            assert status == 403, (path, wrong)
            assert_german_page(headers, body)


async def test_a_token_of_another_session_is_refused(stack: Stack, browser: aiohttp.ClientSession) -> None:
    async with new_browser() as other:
        foreign = await csrf_token(other, stack, "/login")
    await csrf_token(browser, stack, "/login")
    status, _, _ = await post(browser, stack, "/login", {"csrf_token": foreign, "email": EMAIL, "password": "x"})
    assert status == 403


@pytest.mark.parametrize("path", POST_PATHS)
async def test_a_token_without_the_cookie_says_cookies_are_off(stack: Stack, path: str) -> None:
    async with new_browser() as client:
        token = await csrf_token(client, stack, FORM_PAGE[path])
    async with cookieless() as client:
        status, headers, body = await post(client, stack, path, {"csrf_token": token, "email": EMAIL})
    assert status == 403
    assert_german_page(headers, body)
    assert "Bitte Cookies erlauben" in body and "Cookies ausgeschaltet" in body


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:1", "http://localhost:8080"])
async def test_a_post_from_a_foreign_origin_is_refused_even_with_the_right_token(
    stack: Stack, browser: aiohttp.ClientSession, origin: str
) -> None:
    token = await csrf_token(browser, stack, "/login")
    status, headers, body = await post(
        browser, stack, "/login", {"csrf_token": token, "email": EMAIL, "password": "x"}, headers={"Origin": origin}
    )
    assert status == 403
    assert_german_page(headers, body)


async def test_a_post_with_the_right_token_passes(stack: Stack, browser: aiohttp.ClientSession) -> None:
    # Empty forms: past the CSRF check, the page itself asks for the missing fields.
    for path in ("/login", "/registrieren", "/passwort-vergessen", "/kontakt"):
        token = await csrf_token(browser, stack, path)
        status, headers, body = await post(browser, stack, path, {"csrf_token": token},
                                           headers={"Origin": stack.url})
        assert status == 422, (path, status)
        assert_german_page(headers, body)
    token = await csrf_token(browser, stack, "/login")
    status, headers, _ = await post(browser, stack, "/logout", {"csrf_token": token})
    assert (status, headers["Location"]) == (303, "/login")


async def test_a_script_may_send_the_token_in_a_header(stack: Stack, browser: aiohttp.ClientSession) -> None:
    token = await csrf_token(browser, stack, "/login")
    status, _, _ = await post(browser, stack, "/login", {"email": ""}, headers={"X-CSRF-Token": token})
    assert status == 422
    status, _, _ = await post(browser, stack, "/login", {"email": ""}, headers={"X-CSRF-Token": token + "x"})
    assert status == 403


# --- the session cookie ---------------------------------------------------------------


async def test_over_http_the_cookie_is_httponly_lax_for_the_whole_site(stack: Stack) -> None:
    async with new_browser() as client:
        status, response, _ = await get(client, stack.url + "/login")
    assert status == 200
    (header,) = set_cookies(response)
    name, morsel = parsed_cookie(header)
    assert name == COOKIE
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert morsel["domain"] == ""
    assert "Strict-Transport-Security" not in response.headers


async def test_over_https_the_cookie_has_the_host_prefix_and_is_secure(stack: Stack) -> None:
    settings = PortalSettings(
        portal_database_url=stack.database_url, portal_base_url="https://portal.example",
        auth_api_url=stack.auth_url, faq_api_url=stack.faq_url, trusted_proxies=LOCALHOST,
    )
    async with running(create_portal_app(settings)) as client:
        response = await client.get("/login", allow_redirects=False)
        assert response.status == 200
        (header,) = set_cookies(response)
        name, morsel = parsed_cookie(header)
        assert name == "__Host-portal_session"
        assert morsel["secure"] is True
        assert morsel["httponly"] is True
        assert morsel["samesite"] == "Lax"
        assert morsel["path"] == "/"
        assert morsel["domain"] == "" and "domain" not in header.lower()
        hsts = response.headers["Strict-Transport-Security"]
        assert "max-age=31536000" in hsts
        # The plain name is not what this portal reads.
        token = _CSRF_INPUT.search(await response.text()).group(1)  # type: ignore[union-attr]
        plain = {"Cookie": f"{COOKIE}={morsel.value}"}
        refused = await client.post("/login", data={"csrf_token": token}, headers=plain, allow_redirects=False)
        assert refused.status == 403
        prefixed = {"Cookie": f"__Host-portal_session={morsel.value}", "Origin": "https://portal.example"}
        accepted = await client.post("/login", data={"csrf_token": token}, headers=prefixed, allow_redirects=False)
        assert accepted.status == 422


async def test_the_session_id_changes_at_login_and_at_logout(stack: Stack, browser: aiohttp.ClientSession) -> None:
    await active_account(browser, stack)
    await csrf_token(browser, stack, "/login")
    anonymous = session_cookie(browser, stack)
    assert anonymous
    status, headers, _ = await log_in(browser, stack)
    assert (status, headers["Location"]) == (303, "/konto")
    after_login = session_cookie(browser, stack)
    assert after_login and after_login != anonymous
    status, _, body = await get(browser, stack.url + "/konto")
    assert status == 200 and EMAIL in body

    # The id from before the login (one an attacker could have planted) opens nothing.
    assert await konto_status(stack, anonymous) == (303, "/login?next=/konto")
    assert await konto_status(stack, after_login) == (200, "")

    token = await csrf_token(browser, stack, "/konto")
    status, headers, _ = await post(browser, stack, "/logout", {"csrf_token": token})
    assert (status, headers["Location"]) == (303, "/login")
    after_logout = session_cookie(browser, stack)
    assert after_logout and after_logout not in (anonymous, after_login)
    assert await konto_status(stack, after_login) == (303, "/login?next=/konto")
    assert await konto_status(stack, after_logout) == (303, "/login?next=/konto")


async def test_an_unknown_or_overlong_cookie_is_no_session(stack: Stack) -> None:
    for value in ("nope", "A" * 43, "A" * 5000):
        assert await konto_status(stack, value) == (303, "/login?next=/konto")


# --- headers and markup of every page ---------------------------------------------------


async def _pages(stack: Stack) -> list[tuple[str, int, dict, str]]:
    seen = []
    async with new_browser() as client:
        for path, expected in (("/", 200), ("/login", 200), ("/registrieren", 200), ("/faq", 200),
                               ("/faq/registrieren", 200), ("/faq/suche?q=Passwort", 200), ("/kontakt", 200),
                               ("/passwort-vergessen", 200), ("/impressum", 200), ("/gibt-es-nicht", 404)):
            status, response, body = await get(client, stack.url + path)
            assert status == expected, (path, status)
            seen.append((path, status, dict(response.headers), body))
        status, headers, body = await post(client, stack, "/login", {"email": EMAIL})
        assert status == 403
        seen.append(("POST /login", status, headers, body))
    return seen


def _assert_safe_headers(where: str, headers: dict) -> None:
    csp = headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    assert "frame-ancestors 'none'" in csp, where
    assert "default-src 'none'" in csp, where
    assert headers["Referrer-Policy"] == "no-referrer", where
    assert headers["X-Content-Type-Options"] == "nosniff", where
    server = headers.get("Server", "")
    assert "aiohttp" not in server.lower() and "python" not in server.lower(), (where, server)
    assert "no-store" in headers["Cache-Control"], where


def _assert_no_inline_code(where: str, body: str) -> None:
    for content in _INLINE_SCRIPT.findall(body):
        assert not content.strip(), (where, content[:200])
    assert not re.search(r"<script\b(?![^>]*\bsrc=)", body, re.IGNORECASE), where
    assert not re.search(r"\sstyle\s*=", body, re.IGNORECASE), where
    assert not re.search(r"<style\b", body, re.IGNORECASE), where
    assert not re.search(r"\son[a-z]+\s*=", body, re.IGNORECASE), where  # onclick=, onload=, …


async def test_every_page_sends_the_security_headers_and_has_no_inline_code(stack: Stack) -> None:
    pages = await _pages(stack)
    assert len(pages) == 11
    for where, _, headers, body in pages:
        _assert_safe_headers(where, headers)
        assert headers["Content-Type"].startswith("text/html"), where
        assert '<html lang="de">' in body, where
        _assert_no_inline_code(where, body)


async def test_the_account_page_sends_the_security_headers_and_has_no_inline_code(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    await logged_in(browser, stack)
    for path in ("/konto", "/konto/loeschen"):
        status, response, body = await get(browser, stack.url + path)
        assert status == 200, path
        _assert_safe_headers(path, dict(response.headers))
        _assert_no_inline_code(path, body)


async def test_static_files_and_probes_do_not_name_the_server_software(stack: Stack) -> None:
    async with new_browser() as client:
        for path in ("/static/portal.css", "/static/portal.js", "/healthz"):
            status, response, _ = await get(client, stack.url + path)
            assert status == 200, path
            server = response.headers.get("Server", "")
            assert "aiohttp" not in server.lower() and "python" not in server.lower(), (path, server)
            assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- no tokens in what the browser sees -----------------------------------------------


async def test_the_browser_never_sees_the_auth_tokens(stack: Stack, browser: aiohttp.ClientSession) -> None:
    await active_account(browser, stack)
    seen: list[str] = []
    token = await csrf_token(browser, stack, "/login")
    async with browser.post(stack.url + "/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD},
                            allow_redirects=False) as response:
        assert response.status == 303
        seen += [await response.text(), *set_cookies(response), *response.headers.values()]
    for path in ("/konto", "/", "/login", "/kontakt", "/faq", "/konto/loeschen"):
        status, response, body = await get(browser, stack.url + path)
        assert status in (200, 303), path
        seen += [body, *set_cookies(response), *response.headers.values()]

    rows = await stack.sql("SELECT access_token, refresh_token FROM portal.sessions WHERE access_token IS NOT NULL")
    assert len(rows) == 1
    access, refresh = rows[0]["access_token"], rows[0]["refresh_token"]
    assert access.count(".") == 2 and len(refresh) >= 32
    everything = "\n".join(seen)
    assert EMAIL in everything  # the account page was really shown
    assert access not in everything
    assert refresh not in everything
    assert access.split(".")[1] not in everything  # not even the claims part of the JWT

    cookie = session_cookie(browser, stack)
    assert cookie and cookie not in (access, refresh)
    assert cookie.count(".") != 2 and not cookie.startswith("eyJ")
    # Only a hash of the cookie value is stored.
    assert not await stack.sql("SELECT 1 FROM portal.sessions WHERE encode(id_hash, 'escape') LIKE $1",
                               f"%{cookie}%")


# --- the customer's address reaches auth ------------------------------------------------


async def test_auth_records_the_customers_ip_not_the_portals(stack: Stack, browser: aiohttp.ClientSession) -> None:
    token = await csrf_token(browser, stack, "/login")
    status, headers, body = await post(
        browser, stack, "/login", {"csrf_token": token, "email": "nobody@example.de", "password": "falsch"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert status == 401, body
    assert_german_page(headers, body)

    async def failures() -> list:
        return await stack.sql("SELECT ip FROM auth.audit_log WHERE action = 'login_failed'")

    rows = await eventually(failures)
    assert [r["ip"] for r in rows] == ["203.0.113.7"]
    assert not await stack.sql("SELECT 1 FROM auth.audit_log WHERE ip LIKE '127.%'")
    # The throttles count the customer too.
    assert await stack.sql("SELECT 1 FROM auth.login_failures WHERE key = 'ip:203.0.113.7'")


async def test_without_a_forwarded_address_the_peer_is_the_customer(stack: Stack) -> None:
    """The check above is no accident of auth seeing only 127.0.0.1: with no proxy in
    front, the portal's own peer is what auth records."""
    async with new_browser() as client:
        token = await csrf_token(client, stack, "/login")
        status, _, _ = await post(client, stack, "/login",
                                  {"csrf_token": token, "email": "nobody@example.de", "password": "falsch"})
    assert status == 401
    rows = await eventually(lambda: stack.sql("SELECT ip FROM auth.audit_log WHERE action = 'login_failed'"))
    assert [r["ip"] for r in rows] == ["127.0.0.1"]


# --- no enumeration -----------------------------------------------------------------------


async def test_forgot_password_answers_alike_for_known_and_unknown_data(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    await active_account(browser, stack)
    answers = []
    for customer_number, email in (("10001", EMAIL), ("10001", "fremd@example.de"), ("99999", EMAIL),
                                   ("10002", "niemand@example.de")):
        token = await csrf_token(browser, stack, "/passwort-vergessen")
        status, headers, _ = await post(browser, stack, "/passwort-vergessen",
                                        {"csrf_token": token, "customer_number": customer_number, "email": email})
        answers.append((status, headers.get("Location")))
    assert answers == [(303, "/passwort-vergessen/gesendet")] * 4
    # Behind the identical answers only the matching request made a reset link.
    assert len(await stack.sql("SELECT 1 FROM auth.reset_tokens")) == 1
    assert await mail_link(stack, EMAIL, "/passwort-zuruecksetzen")


async def test_registering_a_taken_address_looks_like_a_fresh_registration(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    await active_account(browser, stack)
    taken = await register(browser, stack, EMAIL)
    fresh = await register(browser, stack, "erika@example.de", ("10002", "Müller"))
    assert (taken[0], taken[1].get("Location")) == (fresh[0], fresh[1].get("Location"))
    assert (taken[0], taken[1].get("Location")) == (303, "/registrieren/bestaetigen")
    # The fresh address got its activation link; the owner of the taken one, a notice.
    assert await mail_link(stack, "erika@example.de", "/aktivieren")
    await stack.sink.wait_for(lambda _: len(stack.sink.to(EMAIL)) >= 2, timeout=20)
    notice = stack.sink.to(EMAIL)[1]
    assert not any(urlsplit(link).path == "/aktivieren" for link in notice.links)


# --- sessions end -------------------------------------------------------------------------


async def test_after_logout_the_old_cookie_leads_to_the_login(stack: Stack, browser: aiohttp.ClientSession) -> None:
    await logged_in(browser, stack)
    cookie = session_cookie(browser, stack)
    assert cookie and await konto_status(stack, cookie) == (200, "")
    token = await csrf_token(browser, stack, "/konto")
    status, headers, _ = await post(browser, stack, "/logout", {"csrf_token": token})
    assert (status, headers["Location"]) == (303, "/login")
    assert await konto_status(stack, cookie) == (303, "/login?next=/konto")
    # Auth ended its session too: nothing stored by the portal keeps tokens any more.
    assert not await stack.sql("SELECT 1 FROM portal.sessions WHERE access_token IS NOT NULL")
    assert not await stack.sql("SELECT 1 FROM auth.sessions WHERE ended_at IS NULL")
    status, _, body = await get(browser, stack.url + "/login")
    assert status == 200 and "abgemeldet" in body.lower()


async def test_opening_the_logout_address_asks_and_only_the_button_logs_out(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    # A GET must not log out (any site could do it with an image), but a customer who
    # types /logout gets the button instead of an error page.
    status, response, _ = await get(browser, stack.url + "/logout")
    assert (status, response.headers["Location"]) == (303, "/login")
    await logged_in(browser, stack)
    cookie = session_cookie(browser, stack)
    status, _, body = await get(browser, stack.url + "/logout")
    assert status == 200
    assert "Vom Kundenportal abmelden" in body and 'action="/logout"' in body
    assert await konto_status(stack, cookie) == (200, "")
    token = await csrf_token(browser, stack, "/logout")
    status, headers, _ = await post(browser, stack, "/logout", {"csrf_token": token})
    assert (status, headers["Location"]) == (303, "/login")
    assert await konto_status(stack, cookie) == (303, "/login?next=/konto")


async def test_a_form_ended_by_an_expired_session_leads_back_to_its_section_after_login(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    # The login's way back is the form's address; opened by a GET it must not be a 405.
    await logged_in(browser, stack)
    token = await csrf_token(browser, stack, "/konto")
    await stack.sql("UPDATE portal.sessions SET last_seen_at = now() - interval '31 minutes'")
    status, headers, _ = await post(browser, stack, "/konto/passwort", {"csrf_token": token})
    assert status in (303, 403)
    token = await csrf_token(browser, stack, "/login?next=/konto/passwort")
    status, headers, _ = await post(browser, stack, "/login", {
        "csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/konto/passwort"})
    assert (status, headers["Location"]) == (303, "/konto/passwort")
    for path, section in FORM_SECTIONS.items():
        status, response, _ = await get(browser, stack.url + path)
        assert (status, response.headers["Location"]) == (303, f"/konto#{section}")


async def test_a_password_reset_elsewhere_ends_the_portal_session(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    await logged_in(browser, stack)
    status, _, _ = await get(browser, stack.url + "/konto")
    assert status == 200

    async with aiohttp.ClientSession() as api:
        async with api.post(f"{stack.auth_url}/api/v1/auth/password/forgot",
                            json={"customer_number": "10001", "email": EMAIL}) as response:
            assert response.status == 202, await response.text()
        token = token_of(await mail_link(stack, EMAIL, "/passwort-zuruecksetzen"))
        async with api.post(f"{stack.auth_url}/api/v1/auth/password/reset",
                            json={"token": token, "password": NEW_PASSWORD}) as response:
            assert response.status in (200, 204), await response.text()

    # The portal still holds an access token valid for minutes; auth says the session is over.
    status, response, _ = await get(browser, stack.url + "/konto")
    assert (status, response.headers["Location"]) == (303, "/login?next=/konto&abgelaufen=1")
    assert not await stack.sql("SELECT 1 FROM portal.sessions WHERE access_token IS NOT NULL")
    status, response, _ = await get(browser, stack.url + "/konto")
    assert (status, response.headers["Location"]) == (303, "/login?next=/konto")
    # The new password works through the portal.
    status, headers, _ = await log_in(browser, stack, password=NEW_PASSWORD)
    assert (status, headers["Location"]) == (303, "/konto")


@pytest.mark.parametrize(
    ("column", "value"),
    [("last_seen_at", "now() - interval '31 minutes'"), ("expires_at", "now() - interval '1 second'")],
    ids=["idle", "absolute"],
)
async def test_an_ended_session_leads_to_the_login_and_is_forgotten(
    stack: Stack, browser: aiohttp.ClientSession, column: str, value: str
) -> None:
    await logged_in(browser, stack)
    cookie = session_cookie(browser, stack)
    assert cookie and await konto_status(stack, cookie) == (200, "")
    await stack.sql(f"UPDATE portal.sessions SET {column} = {value} WHERE access_token IS NOT NULL")
    status, response, _ = await get(browser, stack.url + "/konto")
    assert (status, response.headers["Location"]) == (303, "/login?next=/konto")
    assert any(h.startswith(f"{COOKIE}=;") or f'{COOKIE}="";' in h for h in set_cookies(response))
    assert not await stack.sql("SELECT 1 FROM portal.sessions WHERE access_token IS NOT NULL")


async def test_an_error_page_clears_the_cookie_of_an_ended_session(stack: Stack) -> None:
    async with new_browser() as client:
        await csrf_token(client, stack, "/login")
        await stack.sql("UPDATE portal.sessions SET last_seen_at = now() - interval '31 minutes'")
        status, response, _ = await get(client, stack.url + "/faq/gibt-es-nicht")
    assert status == 404
    assert any(h.startswith(f"{COOKIE}=") for h in set_cookies(response))
    assert session_cookie(client, stack) is None
    assert not await stack.sql("SELECT 1 FROM portal.sessions")


async def test_a_request_with_the_cookie_from_before_the_login_leaves_the_new_one_alone(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    # Another tab's request, sent with the pre-login cookie while the login rotated it,
    # must not clear the new cookie when its answer arrives last.
    await active_account(browser, stack)
    await csrf_token(browser, stack, "/login")
    before = session_cookie(browser, stack)
    await log_in(browser, stack)
    assert session_cookie(browser, stack) not in (None, before)
    old_cookie = {"Cookie": f"{COOKIE}={before}"}
    async with new_browser() as other_tab, other_tab.get(stack.url + "/faq", headers=old_cookie) as response:
        assert response.status == 200
        assert not set_cookies(response)


async def test_files_come_without_a_session_cookie(stack: Stack) -> None:
    async with new_browser() as client:
        await csrf_token(client, stack, "/login")
        await stack.sql("UPDATE portal.sessions SET last_seen_at = now() - interval '31 minutes'")
        async with client.get(stack.url + "/static/portal.css", allow_redirects=False) as response:
            assert response.status == 200
            assert not set_cookies(response)
        status, response, _ = await get(client, stack.url + "/faq")
    assert status == 200 and any(h.startswith(f"{COOKIE}=") for h in set_cookies(response))


# --- no way off the site ----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example", "/%0d%0a"])
async def test_the_page_after_login_is_never_on_another_site(
    stack: Stack, browser: aiohttp.ClientSession, target: str
) -> None:
    await active_account(browser, stack)
    token = await csrf_token(browser, stack, "/login?next=" + target)
    status, headers, _ = await post(browser, stack, "/login",
                                    {"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": target})
    assert status == 303
    assert headers["Location"] in ("/konto", target) and not headers["Location"].startswith("//")
    assert urlsplit(headers["Location"]).netloc == ""
    status, response, _ = await get(browser, stack.url + "/login?next=" + target)
    assert status == 303 and urlsplit(response.headers["Location"]).netloc == ""
    assert not response.headers["Location"].startswith(("//", "/\\"))


async def test_the_language_switch_stays_on_the_site(stack: Stack) -> None:
    async with new_browser() as client:
        for target, expected in (("//evil.example", "/"), ("https://evil.example", "/"), ("/faq", "/faq")):
            status, response, _ = await get(client, URL(stack.url).with_path("/sprache").with_query(
                lang="en", next=target))
            assert (status, response.headers["Location"]) == (303, expected), target


@pytest.mark.parametrize("raw", ["//evil.example", "//evil.example/login", "/\\evil.example", "/%2F%2Fevil.example"])
async def test_a_refused_post_never_links_to_an_address_from_the_request(stack: Stack, raw: str) -> None:
    """A foreign site's form posting to `https://portal//evil.example` gets an error page
    of the portal; its "reload" button must not lead to evil.example."""
    async with cookieless() as client, client.post(
        URL(stack.url + raw, encoded=True), data={"x": "y"}, headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    ) as response:
        body = await response.text()
        assert response.status in (403, 404)
        assert_german_page(dict(response.headers), body)
    hrefs = re.findall(r'href="([^"]*)"', body)
    assert hrefs
    for href in hrefs:
        # Only paths of this site (the language switch carries the path, encoded, in its
        # query; /sprache itself only ever leads to a local path).
        assert href.startswith(("/", "#")) and not href.startswith(("//", "/\\")), href
        assert "evil.example" not in urlsplit(href).path, href


async def test_a_post_to_a_page_without_a_form_is_a_405_page(stack: Stack) -> None:
    async with cookieless() as client:
        status, headers, body = await post(client, stack, "/faq", {"x": "y"})
    assert status == 405
    assert "GET" in headers["Allow"]
    assert_german_page(headers, body)


# --- odd input ------------------------------------------------------------------------------

ODD_BODIES = {
    "bytes that are not UTF-8": (b"email=\xff\xfe&csrf_token=", "application/x-www-form-urlencoded"),
    "an unknown charset": (b"email=a&csrf_token=", "application/x-www-form-urlencoded; charset=bogus"),
    "multipart without boundary": (b"x", "multipart/form-data"),
    "multipart without its boundary": (b"garbage", "multipart/form-data; boundary=b"),
    "multipart field without name": (b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
                                     "multipart/form-data; boundary=b"),
    "multipart cut off": (b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nx',
                          "multipart/form-data; boundary=b"),
    "multipart with an unknown charset": (
        (b'--b\r\nContent-Type: text/plain; charset=bogus\r\nContent-Disposition: form-data; name="email"'
         b"\r\n\r\nx\r\n--b--\r\n"),
        "multipart/form-data; boundary=b",
    ),
}


@pytest.mark.parametrize("case", list(ODD_BODIES))
@pytest.mark.parametrize("token_in", ["form", "header"])
async def test_a_body_no_form_sends_gets_a_400_page_not_a_500(
    stack: Stack, browser: aiohttp.ClientSession, case: str, token_in: str
) -> None:
    token = await csrf_token(browser, stack, "/login")
    body, content_type = ODD_BODIES[case]
    headers = {"Content-Type": content_type}
    if token_in == "header":
        headers["X-CSRF-Token"] = token
    else:
        body = body.replace(b"csrf_token=", b"csrf_token=" + token.encode())
    async with browser.post(stack.url + "/login", data=body, headers=headers, allow_redirects=False) as response:
        assert response.status == 400
        assert_german_page(dict(response.headers), await response.text())


async def test_a_body_that_is_not_the_gzip_it_claims_gets_a_400_page(stack: Stack) -> None:
    async with new_browser() as client:
        token = await csrf_token(client, stack, "/login")
        async with client.post(stack.url + "/login", data=b"csrf_token=" + token.encode(), allow_redirects=False,
                               headers={"Content-Type": "application/x-www-form-urlencoded",
                                        "Content-Encoding": "gzip"}) as response:
            assert response.status == 400
            assert_german_page(dict(response.headers), await response.text())



async def test_an_oversized_form_gets_a_page_not_a_500(stack: Stack, browser: aiohttp.ClientSession) -> None:
    token = await csrf_token(browser, stack, "/login")
    status, headers, body = await post(
        browser, stack, "/login", {"csrf_token": token, "email": EMAIL, "password": "x" * 70_000}
    )
    assert status == 413
    assert_german_page(headers, body)
    assert "Eingabe zu groß" in body


async def test_a_nul_in_a_faq_address_is_a_not_found_page(stack: Stack) -> None:
    async with new_browser() as client:
        for raw in ("/faq/%00", "/faq/a%00b", "/%00", "/faq/%ZZ"):
            status, response, body = await get(client, URL(stack.url + raw, encoded=True))
            assert status == 404, raw
            assert_german_page(dict(response.headers), body)
            assert "Seite nicht gefunden" in body


async def test_an_activation_page_without_token_is_a_page(stack: Stack) -> None:
    async with new_browser() as client:
        status, response, body = await get(client, stack.url + "/aktivieren?token=")
        assert status == 200
        assert_german_page(dict(response.headers), body)
        status, response, body = await get(client, stack.url + "/aktivieren")
        assert status == 200


async def test_an_invalid_activation_token_gets_a_german_400_page(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    for bad in ("ungueltig", "x" * 5000, "\u00e4\u00f6\u00fc", ""):
        token = await csrf_token(browser, stack, "/aktivieren?token=ungueltig")
        status, headers, body = await post(browser, stack, "/aktivieren", {"csrf_token": token, "token": bad})
        assert status == 400, (bad[:10], status)
        assert_german_page(headers, body)
        assert "Formular abgelaufen" not in body


async def test_odd_login_input_gets_no_500(stack: Stack, browser: aiohttp.ClientSession) -> None:
    for email, password in (("\x00@example.de", "x"), ("a" * 2000, "x"), ("max@example.de", "\u0000" * 10),
                            ("max@example.de", "p" * 5000)):
        token = await csrf_token(browser, stack, "/login")
        status, headers, body = await post(browser, stack, "/login",
                                           {"csrf_token": token, "email": email, "password": password})
        assert status < 500, (email[:10], status, body[:300])
        assert_german_page(headers, body)


async def test_parallel_requests_with_an_expiring_token_keep_the_customer_logged_in(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    """Two tabs reloading at once after a break: one refresh, not a refresh-token reuse
    that auth would take as theft (ending the session and raising an alarm)."""
    await logged_in(browser, stack)
    await stack.sql("UPDATE portal.sessions SET access_expires_at = now() WHERE refresh_token IS NOT NULL")
    answers = await asyncio.gather(*(get(browser, f"{stack.url}/konto") for _ in range(3)))
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert await stack.sql("SELECT 1 FROM auth.audit_log WHERE action = 'refresh_token_reused'") == []


async def _faq_api_reads(stack: Stack) -> float:
    async with cookieless() as client, client.get(f"{stack.faq_url}/metrics") as response:
        text = await response.text()
    pattern = r'http_requests_total\{method="GET",route="/api/v1/faq",status="200"\} ([0-9.]+)'
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


async def test_public_faq_answers_are_reused_while_fresh(stack: Stack) -> None:
    """The FAQ API says `public, max-age=60`: within that, pages need no API round trip."""
    before = await _faq_api_reads(stack)
    async with cookieless() as client:
        for _ in range(3):
            async with client.get(f"{stack.url}/faq") as response:
                assert response.status == 200
                assert "Fragen und Antworten" in await response.text()
        async with client.get(f"{stack.url}/faq", headers={"Accept-Language": "en"}) as response:
            assert "Questions and answers" in await response.text()  # kept per language
    assert await _faq_api_reads(stack) - before == 2


async def test_a_contact_message_over_the_limit_says_the_limit(stack: Stack, browser: aiohttp.ClientSession) -> None:
    token = await csrf_token(browser, stack, "/kontakt")
    status, headers, body = await post(browser, stack, "/kontakt", {
        "csrf_token": token, "name": "Max Mustermann", "email": EMAIL, "subject": "Rechnung",
        "message": "x" * 5001})
    assert status == 422
    assert_german_page(headers, body)
    assert "Ihre Nachricht ist zu lang: höchstens 5.000 Zeichen." in body


async def test_a_reset_link_that_no_longer_works_says_so_before_the_form(
    stack: Stack, browser: aiohttp.ClientSession
) -> None:
    # Not after the customer has made up a new password twice.
    await active_account(browser, stack)
    status, response, body = await get(browser, stack.url + "/passwort-zuruecksetzen?token=" + "A" * 43)
    assert status == 400 and 'name="password"' not in body
    assert_german_page(dict(response.headers), body)
    token = await csrf_token(browser, stack, "/passwort-vergessen")
    await post(browser, stack, "/passwort-vergessen", {"csrf_token": token, "customer_number": "10001", "email": EMAIL})
    link = token_of(await mail_link(stack, EMAIL, "/passwort-zuruecksetzen"))
    status, _, body = await get(browser, stack.url + "/passwort-zuruecksetzen?token=" + link)
    assert status == 200 and 'name="password"' in body
    async with aiohttp.ClientSession() as api, api.post(
        f"{stack.auth_url}/api/v1/auth/password/reset", json={"token": link, "password": NEW_PASSWORD}
    ) as response:
        assert response.status == 200
    status, _, body = await get(browser, stack.url + "/passwort-zuruecksetzen?token=" + link)
    assert status == 400 and 'name="password"' not in body


async def test_a_single_search_result_is_counted_in_the_singular(stack: Stack) -> None:
    counts = {}
    for language in ("de", "en"):
        async with new_browser() as client:
            client.headers["Accept-Language"] = language
            status, _, body = await get(client, stack.url + "/faq/suche?q=Aktivierungslink")
        assert status == 200
        counts[language] = re.search(r'<p class="results-count">([^<]*)</p>', body).group(1)  # type: ignore[union-attr]
    assert counts["de"].startswith("1 Treffer für"), counts
    assert counts["en"].startswith("1 result for"), counts
