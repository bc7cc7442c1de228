"""Enumeration safety survives the portal's extra hop: the register, forgot and login
pages look the same and take the same time for known and unknown data (medians over
interleaved samples, as auth's own test compares them)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from tests.browser import conftest as browser_stack
from tests.browser.conftest import PASSWORD, Stack, api_active_account
from tests.integration.test_auth_enumeration import assert_same_time
from tests.integration.test_portal_security import csrf_token, new_browser

# Response times compared: `make test` runs these after the parallel part, alone.
pytestmark = [pytest.mark.integration, pytest.mark.timing]
# The whole stack of the browser tests (portal, auth, mailer, FAQ), without a browser.
stack = browser_stack.stack
passwords = browser_stack.passwords

SAMPLES = 9
Send = Callable[[aiohttp.ClientSession, int], Awaitable[tuple[int, str, str]]]


async def compare(stack: Stack, path: str, a: Send, b: Send) -> tuple[list, list, float, float]:
    answers: tuple[list, list] = ([], [])
    durations: tuple[list[float], list[float]] = ([], [])
    async with new_browser() as client:
        await csrf_token(client, stack, path)
        for i in range(SAMPLES):
            for kind, send in enumerate((a, b)):
                # Each sample from its own address, counters cleared: this compares the
                # answers, not the throttles (which have tests of their own).
                await stack.sql("DELETE FROM auth.rate_limits")
                await stack.sql("DELETE FROM auth.login_failures")
                started = time.perf_counter()
                answers[kind].append(await send(client, i * 2 + kind))
                durations[kind].append(time.perf_counter() - started)
    medians = statistics.median(durations[0]), statistics.median(durations[1])
    print(f"{path}: medians {medians[0] * 1000:.1f} ms vs {medians[1] * 1000:.1f} ms")
    return answers[0], answers[1], *medians


def poster(stack: Stack, path: str, fields: Callable[[int], dict[str, str]]) -> Send:
    async def send(client: aiohttp.ClientSession, n: int) -> tuple[int, str, str]:
        token = await csrf_token(client, stack, path)
        headers = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
        async with client.post(stack.url + path, data={"csrf_token": token, **fields(n)}, headers=headers,
                               allow_redirects=False) as response:
            body = await response.text()
            return response.status, response.headers.get("Location", ""), body
    return send


def without(text: str, *values: str) -> str:
    for value in values:
        text = text.replace(value, "…")
    return text


async def test_forgot_password_page_is_the_same_with_and_without_a_match(stack: Stack) -> None:
    await api_active_account(stack, "max@example.de")
    match = poster(stack, "/passwort-vergessen", lambda n: {"customer_number": "10001", "email": "max@example.de"})
    other = poster(stack, "/passwort-vergessen", lambda n: {"customer_number": "10001", "email": f"x{n}@example.de"})
    matched, unmatched, match_time, other_time = await compare(stack, "/passwort-vergessen", match, other)
    assert {(s, loc) for s, loc, _ in matched + unmatched} == {(303, "/passwort-vergessen/gesendet")}
    assert_same_time(match_time, other_time)


async def test_register_page_is_the_same_for_a_taken_and_a_new_address(stack: Stack) -> None:
    await api_active_account(stack, "max@example.de")
    fields = {"last_name": "Müller", "customer_number": "10002", "password": PASSWORD,
              "accept_terms": "yes", "accept_privacy": "yes"}
    taken = poster(stack, "/registrieren", lambda n: {**fields, "email": "max@example.de"})
    new = poster(stack, "/registrieren", lambda n: {**fields, "email": f"neu{n}@example.de"})
    taken_answers, new_answers, taken_time, new_time = await compare(stack, "/registrieren", taken, new)
    assert {(s, loc) for s, loc, _ in taken_answers + new_answers} == {(303, "/registrieren/bestaetigen")}
    assert_same_time(taken_time, new_time)


async def test_login_page_is_the_same_for_an_unknown_address_and_a_wrong_password(stack: Stack) -> None:
    await api_active_account(stack, "max@example.de")
    wrong = poster(stack, "/login", lambda n: {"email": "max@example.de", "password": "Falsch!7Xq"})
    unknown = poster(stack, "/login", lambda n: {"email": "ghost@example.de", "password": "Falsch!7Xq"})
    wrong_answers, unknown_answers, wrong_time, unknown_time = await compare(stack, "/login", wrong, unknown)
    assert {s for s, _, _ in wrong_answers + unknown_answers} == {401}
    pages = {without(body, "max@example.de", "ghost@example.de") for _, _, body in wrong_answers + unknown_answers}
    assert len(pages) == 1  # the same page but for the address typed in
    assert_same_time(wrong_time, unknown_time)


async def test_resend_page_is_the_same_for_a_pending_and_an_unknown_address(stack: Stack) -> None:
    async with aiohttp.ClientSession(stack.auth_url) as http:
        body = {"last_name": "Mustermann", "customer_number": "10001", "email": "max@example.de",
                "password": PASSWORD, "accept_terms": True, "accept_privacy": True}
        async with http.post("/api/v1/auth/register", json=body) as response:
            assert response.status == 202
    pending = poster(stack, "/registrieren/erneut-senden", lambda n: {"email": "max@example.de"})
    unknown = poster(stack, "/registrieren/erneut-senden", lambda n: {"email": f"x{n}@example.de"})
    pending_answers, unknown_answers, pending_time, unknown_time = await compare(
        stack, "/registrieren/erneut-senden", pending, unknown)
    assert {(s, loc) for s, loc, _ in pending_answers + unknown_answers} == {
        (303, "/registrieren/erneut-senden/gesendet")}
    assert_same_time(pending_time, unknown_time)
