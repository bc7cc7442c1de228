"""Nothing tells a registered address or customer from an unknown one: not the status,
not the body, not the time (compared by median over interleaved samples)."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from ipaddress import ip_network

import pytest
from aiohttp import ClientResponse

from portal_auth.app import create_app
from portal_auth.config import AuthSettings
from portal_auth.passwords import Passwords
from portal_auth.sessions import FAILED_LOGIN_SECONDS
from tests.integration.conftest import GOOD_PASSWORD, FakeClock, Portal, registration
from tests.support import running

# Response times compared: `make test` runs these after the parallel part, alone.
pytestmark = [pytest.mark.integration, pytest.mark.timing]

SAMPLES = 9


@pytest.fixture
async def portal(
    auth_settings: AuthSettings, customers: list, passwords: Passwords, clock: FakeClock, database_url: str
) -> AsyncIterator[Portal]:
    # Behind a trusted proxy, so each sample can come from its own client address and
    # the per-IP limits do not end the experiment early.
    settings = auth_settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.1/32")]})
    async with running(create_app(settings, clock=clock, passwords=passwords)) as client:
        yield Portal(client, database_url)


Request = Callable[[int], Awaitable[ClientResponse]]


async def compare(a: Request, b: Request, clock: FakeClock) -> tuple[list, list, float, float]:
    """Interleave the two kinds of request; return their answers and median durations."""
    answers: tuple[list, list] = ([], [])
    durations: tuple[list[float], list[float]] = ([], [])
    for i in range(SAMPLES):
        for kind, request in enumerate((a, b)):
            clock.advance(minutes=16)  # past every rate-limit window
            started = time.perf_counter()
            response = await request(i)
            durations[kind].append(time.perf_counter() - started)
            answers[kind].append((response.status, await response.json()))
    medians = statistics.median(durations[0]), statistics.median(durations[1])
    print(f"medians: {medians[0] * 1000:.1f} ms vs {medians[1] * 1000:.1f} ms")
    return answers[0], answers[1], *medians


def assert_same_time(first: float, second: float) -> None:
    # The work is the same (one argon2 computation each); what remains is noise.
    slower, faster = max(first, second), min(first, second)
    assert slower - faster < max(0.25 * slower, 0.010), (first, second)


def from_ip(i: int, kind: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{i * 2 + kind + 1}"}


async def test_login_unknown_address_and_wrong_password_look_the_same(portal: Portal, clock: FakeClock) -> None:
    for number, name in (("10001", "Mustermann"), ("10002", "Müller"), ("10003", "Schmidt")):
        await portal.active_account(customer_number=number, last_name=name, email=f"k{number}@example.de")

    async def unknown(i: int) -> ClientResponse:
        return await portal.post("login", {"email": f"ghost{i}@example.de", "password": "Falsch!7Xq"}, headers=from_ip(i, 0))

    async def wrong(i: int) -> ClientResponse:
        email = f"k1000{i % 3 + 1}@example.de"
        return await portal.post("login", {"email": email, "password": "Falsch!7Xq"}, headers=from_ip(i, 1))

    unknown_answers, wrong_answers, unknown_time, wrong_time = await compare(unknown, wrong, clock)
    assert {status for status, _ in unknown_answers + wrong_answers} == {401}
    assert unknown_answers[0][1] == wrong_answers[0][1]
    assert_same_time(unknown_time, wrong_time)


async def test_a_hash_with_older_parameters_does_not_tell_its_address_at_login(
    portal: Portal, clock: FakeClock
) -> None:
    # Accounts from before the parameters changed keep their slower hash until their
    # owner logs in; failed logins are padded, so that hash tells nothing.
    legacy = Passwords(workers=1, time_cost=2, memory_cost=19 * 1024, parallelism=1)
    await portal.active_account()
    await portal.sql("UPDATE auth.accounts SET password_hash = $1", await legacy.hash(GOOD_PASSWORD))
    legacy.close()

    async def unknown(i: int) -> ClientResponse:  # one address each side: both run into the challenge alike
        return await portal.post("login", {"email": "ghost@example.de", "password": "Falsch!7Xq"}, headers=from_ip(i, 0))

    async def old_hash(i: int) -> ClientResponse:
        return await portal.post("login", {"email": "max@example.de", "password": "Falsch!7Xq"}, headers=from_ip(i, 1))

    unknown_answers, old_answers, unknown_time, old_time = await compare(unknown, old_hash, clock)
    assert unknown_answers == old_answers
    assert min(unknown_time, old_time) >= FAILED_LOGIN_SECONDS
    assert_same_time(unknown_time, old_time)


async def test_registering_a_taken_address_looks_like_a_new_registration(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account()  # max@example.de, customer 10001

    async def new(i: int) -> ClientResponse:
        body = registration(customer_number="10002", last_name="Müller", email=f"neu{i}@example.de")
        return await portal.post("register", body, headers=from_ip(i, 0))

    async def taken(i: int) -> ClientResponse:
        body = registration(customer_number="10003", last_name="Schmidt", email="max@example.de")
        return await portal.post("register", body, headers=from_ip(i, 1))

    new_answers, taken_answers, new_time, taken_time = await compare(new, taken, clock)
    assert new_answers == taken_answers == [(202, {"status": "accepted"})] * SAMPLES
    assert_same_time(new_time, taken_time)
    assert len(await portal.events("account-exists")) == SAMPLES


async def test_forgot_password_with_and_without_a_match_looks_the_same(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account()

    async def match(i: int) -> ClientResponse:
        return await portal.post("password/forgot", {"customer_number": "10001", "email": "max@example.de"}, headers=from_ip(i, 0))

    async def no_match(i: int) -> ClientResponse:
        return await portal.post("password/forgot", {"customer_number": "10001", "email": f"x{i}@example.de"}, headers=from_ip(i, 1))

    match_answers, other_answers, match_time, other_time = await compare(match, no_match, clock)
    assert match_answers == other_answers == [(202, {"status": "accepted"})] * SAMPLES
    assert_same_time(match_time, other_time)
    assert len(await portal.events("reset-requested")) == SAMPLES


async def test_registering_with_another_address_than_the_one_on_file_looks_like_a_new_registration(
    portal: Portal, clock: FakeClock
) -> None:
    await portal.sql(
        "UPDATE auth.customers SET email = 'max@example.de', email_key = 'max@example.de'"
        " WHERE customer_number = '10001'"
    )

    async def new(i: int) -> ClientResponse:
        body = registration(customer_number="10002", last_name="Müller", email=f"neu{i}@example.de")
        return await portal.post("register", body, headers=from_ip(i, 0))

    async def refused(i: int) -> ClientResponse:
        body = registration(customer_number="10001", email=f"fremd{i}@example.de")
        return await portal.post("register", body, headers=from_ip(i, 1))

    new_answers, refused_answers, new_time, refused_time = await compare(new, refused, clock)
    assert new_answers == refused_answers == [(202, {"status": "accepted"})] * SAMPLES
    assert_same_time(new_time, refused_time)
    assert len(await portal.events("registration-refused")) == SAMPLES
    assert {r["customer_number"] for r in await portal.sql("SELECT customer_number FROM auth.accounts")} == {"10002"}


async def test_a_wrong_registration_code_looks_like_a_wrong_last_name(
    portal: Portal, clock: FakeClock, passwords: Passwords
) -> None:
    code_hash = await passwords.hash("ABCDEFGH2345")
    await portal.sql(
        "UPDATE auth.customers SET registration_code_hash = $1 WHERE customer_number = '10001'", code_hash
    )

    # Each sample after a quiet day, so that neither customer number gets past its free
    # wrong guesses (then attempts would need a solved challenge: 428, for both alike).
    async def wrong_code(i: int) -> ClientResponse:
        clock.advance(days=1)
        body = registration(registration_code=f"FALSCH{i:04d}")
        return await portal.post("register", body, headers=from_ip(i, 0))

    async def wrong_name(i: int) -> ClientResponse:
        clock.advance(days=1)
        body = registration(customer_number="10002", last_name=f"Falsch{i}", registration_code=f"FALSCH{i:04d}")
        return await portal.post("register", body, headers=from_ip(i, 1))

    code_answers, name_answers, code_time, name_time = await compare(wrong_code, wrong_name, clock)
    assert {status for status, _ in code_answers + name_answers} == {422}
    assert code_answers == name_answers
    assert code_answers[0][1]["code"] == "customer_mismatch"
    assert_same_time(code_time, name_time)


async def test_resending_the_activation_mail_looks_the_same_for_pending_and_unknown_addresses(
    portal: Portal, clock: FakeClock
) -> None:
    await portal.register()  # max@example.de is pending

    async def pending(i: int) -> ClientResponse:
        return await portal.post("register/resend", {"email": "max@example.de"}, headers=from_ip(i, 0))

    async def unknown(i: int) -> ClientResponse:
        return await portal.post("register/resend", {"email": f"x{i}@example.de"}, headers=from_ip(i, 1))

    pending_answers, unknown_answers, pending_time, unknown_time = await compare(pending, unknown, clock)
    assert pending_answers == unknown_answers == [(202, {"status": "accepted"})] * SAMPLES
    assert_same_time(pending_time, unknown_time)
    assert len(await portal.events("registration-created")) == 1 + SAMPLES


async def test_changing_to_a_taken_address_looks_like_changing_to_a_free_one(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account(customer_number="10002", last_name="Müller", email="erika@example.de")
    await portal.active_account()
    answers: tuple[list, list] = ([], [])
    durations: tuple[list[float], list[float]] = ([], [])
    for i in range(SAMPLES):
        for kind, address in enumerate(("erika@example.de", f"frei{i}@example.de")):
            clock.advance(minutes=16)  # past the per-account limit's window share
            token = (await portal.login())["access_token"]  # not timed
            started = time.perf_counter()
            response = await portal.post("me/email", {"new_email": address, "password": GOOD_PASSWORD},
                                         token=token, headers=from_ip(i, kind))
            durations[kind].append(time.perf_counter() - started)
            answers[kind].append((response.status, await response.json()))
    assert answers[0] == answers[1] == [(202, {"status": "accepted"})] * SAMPLES
    assert_same_time(statistics.median(durations[0]), statistics.median(durations[1]))
    assert len(await portal.events("email-change-requested")) == SAMPLES
