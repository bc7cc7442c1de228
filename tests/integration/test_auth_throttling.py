"""Accounts that cannot be stolen or blocked (issue 9): guessing gets slow, the owner
never waits. Past a few failures per target (address, customer number, device) every
attempt needs a solved proof-of-work challenge; nobody gets a 429 for what others did."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from ipaddress import ip_network

import pytest

from portal_auth.app import create_app
from portal_auth.config import AuthSettings
from portal_auth.passwords import Passwords
from portal_auth.sessions import FAILED_LOGIN_SECONDS
from tests.challenge_support import solved
from tests.integration.conftest import GOOD_PASSWORD, FakeClock, Portal, registration
from tests.support import running

pytestmark = pytest.mark.integration

WRONG = "Wrong!Pass7word"
OWNER = {"X-Forwarded-For": "198.51.100.7"}


def attacker(i: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{i + 1}"}


@pytest.fixture
async def portal(
    auth_settings: AuthSettings, customers: list, passwords: Passwords, clock: FakeClock, database_url: str
) -> AsyncIterator[Portal]:
    # Behind a trusted proxy, so attackers and owner can come from addresses of their own.
    settings = auth_settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.1/32")]})
    async with running(create_app(settings, clock=clock, passwords=passwords)) as client:
        yield Portal(client, database_url)


async def login(portal: Portal, password: str, headers: dict[str, str], **extra: str):  # type: ignore[no-untyped-def]
    return await portal.post("login", {"email": "max@example.de", "password": password, **extra}, headers=headers)


async def problem(response) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    return response.status, (await response.json())["code"]


# --- registration: knowing a customer number blocks no one -------------------------


async def test_wrong_last_names_from_many_ips_do_not_block_the_customer(portal: Portal) -> None:
    for i in range(5):
        response = await portal.post("register", registration(last_name=f"Versuch{i}"), headers=attacker(i))
        assert await problem(response) == (422, "customer_mismatch")
    assert (await response.json())["challenge_required"] is True  # the page can prepare one

    # Not a 429: the real customer is asked for a solved challenge, and gets in with it.
    asked = await portal.post("register", registration(), headers=OWNER)
    assert await problem(asked) == (428, "challenge_required")
    assert "Roboter" in (await asked.json())["detail"]
    response = await portal.post("register", registration(altcha=await solved(portal.client)), headers=OWNER)
    assert response.status == 202


async def test_passwords_the_policy_refuses_are_not_counted_as_guesses(portal: Portal) -> None:
    for i in range(8):
        response = await portal.post("register", registration(password="kurz"), headers=attacker(i))
        assert await problem(response) == (422, "password_policy")
    assert (await portal.post("register", registration(), headers=OWNER)).status == 202


async def test_further_wrong_last_names_each_need_a_solved_challenge(portal: Portal) -> None:
    for i in range(5):
        await portal.post("register", registration(last_name=f"Versuch{i}"), headers=attacker(i))
    guess = registration(last_name="Versuch5", altcha=await solved(portal.client))
    assert await problem(await portal.post("register", guess, headers=attacker(5))) == (422, "customer_mismatch")
    # The same solution does not pay for a second guess.
    assert await problem(await portal.post("register", guess, headers=attacker(6))) == (428, "challenge_required")
    # Other customer numbers are not affected.
    other = registration(customer_number="10002", last_name="Müller", email="erika@example.de")
    assert (await portal.post("register", other, headers=attacker(7))).status == 202


async def test_a_burst_of_parallel_wrong_last_names_gets_no_more_free_guesses(portal: Portal) -> None:
    responses = await asyncio.gather(*(
        portal.post("register", registration(last_name=f"Versuch{i}"), headers=attacker(i)) for i in range(12)
    ))
    statuses = sorted(r.status for r in responses)
    assert statuses.count(422) <= 5
    assert statuses.count(428) >= 7


# --- login: knowing an address blocks no one ----------------------------------------


async def test_wrong_passwords_from_many_ips_never_lock_the_owner(portal: Portal) -> None:
    await portal.active_account()
    for i in range(5):
        assert await problem(await login(portal, WRONG, attacker(i))) == (401, "invalid_credentials")
    for i in range(5, 10):  # past the threshold, unsolved attempts are refused uncounted
        assert await problem(await login(portal, WRONG, attacker(i))) == (428, "challenge_required")

    # The owner, in a browser without a device token, solves one challenge and is in.
    assert await problem(await login(portal, GOOD_PASSWORD, OWNER)) == (428, "challenge_required")
    response = await login(portal, GOOD_PASSWORD, OWNER, altcha=await solved(portal.client))
    assert response.status == 200
    assert (await response.json())["device_token"]


async def test_each_further_guess_costs_a_challenge_and_none_is_a_lock(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account()
    for i in range(5):
        await login(portal, WRONG, attacker(i))
    for i in range(5, 9):
        response = await login(portal, WRONG, attacker(i), altcha=await solved(portal.client))
        assert await problem(response) == (401, "invalid_credentials")
        assert (await response.json())["challenge_required"] is True
        assert "Retry-After" not in response.headers
    response = await login(portal, GOOD_PASSWORD, OWNER, altcha=await solved(portal.client))
    assert response.status == 200
    # A quiet day starts the count anew.
    clock.advance(hours=24, seconds=1)
    assert (await login(portal, WRONG, attacker(0))).status == 401
    assert (await login(portal, GOOD_PASSWORD, OWNER)).status == 200


async def test_unknown_addresses_need_a_challenge_exactly_like_known_ones(portal: Portal) -> None:
    await portal.active_account()
    answers = {}
    for address in ("max@example.de", "ghost@example.de"):
        for i in range(5):
            last = await portal.post("login", {"email": address, "password": WRONG}, headers=attacker(i))
        refused = await portal.post("login", {"email": address, "password": WRONG}, headers=attacker(9))
        answers[address] = (last.status, await last.json(), refused.status, await refused.json())
    assert answers["max@example.de"] == answers["ghost@example.de"]
    assert answers["ghost@example.de"][2] == 428


async def test_the_owners_known_device_never_needs_a_challenge_for_others_guesses(portal: Portal) -> None:
    await portal.active_account()
    device = (await (await login(portal, GOOD_PASSWORD, OWNER)).json())["device_token"]
    for i in range(5):
        await login(portal, WRONG, attacker(i))
    for i in range(5, 8):
        await login(portal, WRONG, attacker(i), altcha=await solved(portal.client))
    assert (await login(portal, WRONG, attacker(9))).status == 428

    response = await login(portal, GOOD_PASSWORD, OWNER, device_token=device)
    assert response.status == 200
    # The device keeps its identity: its next token is for the same device.
    assert (await response.json())["device_token"].split(".")[0] == device.split(".")[0]


async def test_failures_with_a_device_token_are_counted_for_that_device_alone(portal: Portal) -> None:
    await portal.active_account()
    device = (await (await login(portal, GOOD_PASSWORD, OWNER)).json())["device_token"]
    for _ in range(5):
        assert (await login(portal, WRONG, OWNER, device_token=device)).status == 401
    assert (await login(portal, GOOD_PASSWORD, OWNER, device_token=device)).status == 428
    # ... which did not make the address need one elsewhere,
    assert (await login(portal, GOOD_PASSWORD, attacker(0))).status == 200
    # and the device is through with one challenge; success clears its count.
    altcha = await solved(portal.client)
    assert (await login(portal, GOOD_PASSWORD, OWNER, device_token=device, altcha=altcha)).status == 200
    assert (await login(portal, GOOD_PASSWORD, OWNER, device_token=device)).status == 200


async def test_a_device_token_counts_only_for_its_own_account(portal: Portal) -> None:
    await portal.active_account()
    await portal.active_account(customer_number="10002", last_name="Müller", email="erika@example.de")
    other_device = (await (await portal.post(
        "login", {"email": "erika@example.de", "password": GOOD_PASSWORD}, headers=attacker(0)
    )).json())["device_token"]
    for i in range(5):
        await login(portal, WRONG, attacker(i), device_token=other_device)
    # Those were counted for max's address, not for erika's device.
    assert (await login(portal, GOOD_PASSWORD, attacker(9), device_token=other_device)).status == 428
    mine = (await (await login(portal, GOOD_PASSWORD, OWNER, altcha=await solved(portal.client))).json())["device_token"]
    device_id, issued, mac = mine.split(".")
    for forged in (f"{device_id}.{int(issued) + 1}.{mac}", f"{device_id[::-1]}.{issued}.{mac}", "x" * 200):
        assert (await login(portal, GOOD_PASSWORD, OWNER, device_token=forged)).status == 428
    assert (await login(portal, GOOD_PASSWORD, OWNER, device_token=mine)).status == 200


async def test_a_solution_works_once_and_expires(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account()
    for i in range(5):
        await login(portal, WRONG, attacker(i))
    altcha = await solved(portal.client)
    assert (await login(portal, WRONG, attacker(5), altcha=altcha)).status == 401
    assert (await login(portal, GOOD_PASSWORD, OWNER, altcha=altcha)).status == 428  # spent

    late = await solved(portal.client)
    clock.advance(minutes=10)
    assert (await login(portal, GOOD_PASSWORD, OWNER, altcha=late)).status == 428  # expired
    assert (await login(portal, GOOD_PASSWORD, OWNER, altcha=await solved(portal.client))).status == 200


@pytest.mark.parametrize(
    "altcha",
    [
        "", "x", "%%%", "W10=", base64.b64encode(b"null").decode(), base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(json.dumps({"algorithm": "SHA-256", "challenge": "0" * 64, "number": "7",
                                     "salt": "ab", "signature": "0" * 64}).encode()).decode(),
        base64.b64encode(json.dumps({"algorithm": "SHA-256", "challenge": "0" * 64, "number": 10**30,
                                     "salt": "00" * 12 + "?expires=99999999999&", "signature": "0" * 64}).encode()).decode(),
        "A" * 999,
    ],
)
async def test_a_bad_solution_is_a_challenge_required_never_an_error(portal: Portal, altcha: str) -> None:
    for i in range(5):
        await login(portal, WRONG, attacker(i))
    assert await problem(await login(portal, GOOD_PASSWORD, OWNER, altcha=altcha)) == (428, "challenge_required")


async def test_a_forged_solution_is_refused(portal: Portal) -> None:
    await portal.active_account()
    for i in range(5):
        await login(portal, WRONG, attacker(i))
    payload = json.loads(base64.b64decode(await solved(portal.client)))
    payload["number"] += 1
    forged = base64.b64encode(json.dumps(payload).encode()).decode()
    assert (await login(portal, GOOD_PASSWORD, OWNER, altcha=forged)).status == 428


async def test_challenges_are_fresh_signed_and_valid_for_ten_minutes(portal: Portal, clock: FakeClock) -> None:
    first = await (await portal.client.get("/api/v1/auth/challenge")).json()
    second = await (await portal.client.get("/api/v1/auth/challenge")).json()
    assert first["algorithm"] == "SHA-256"
    assert first["salt"] != second["salt"]
    assert first["maxNumber"] == 250_000
    expires = int(first["salt"].split("expires=")[1].rstrip("&"))
    assert abs(expires - (clock.now.timestamp() + 600)) < 2


async def test_a_burst_of_parallel_guesses_gets_five_answers_and_the_rest_need_challenges(portal: Portal) -> None:
    await portal.active_account()
    responses = await asyncio.gather(*(login(portal, WRONG, attacker(i)) for i in range(20)))
    statuses = sorted(r.status for r in responses)
    assert statuses.count(401) == 5
    assert statuses.count(428) == 15


async def test_an_ip_guessing_at_many_addresses_is_still_locked(portal: Portal) -> None:
    for i in range(30):
        response = await portal.post("login", {"email": f"k{i}@example.de", "password": WRONG}, headers=attacker(0))
        assert response.status == 401
    started = time.perf_counter()
    locked = await portal.post("login", {"email": "k99@example.de", "password": WRONG}, headers=attacker(0))
    assert await problem(locked) == (429, "too_many_attempts")
    assert int(locked.headers["Retry-After"]) <= 30
    assert time.perf_counter() - started >= FAILED_LOGIN_SECONDS  # every refusal is padded alike
    assert (await portal.post("login", {"email": "k99@example.de", "password": WRONG}, headers=OWNER)).status == 401


async def test_an_ipv6_client_changing_its_address_within_its_64_is_still_locked(portal: Portal) -> None:
    # One connection holds a whole /64: a new address per guess must not reset the count.
    for i in range(30):
        response = await portal.post("login", {"email": f"k{i}@example.de", "password": WRONG},
                                     headers={"X-Forwarded-For": f"2001:db8:7:1::{i + 1:x}"})
        assert response.status == 401
    locked = await portal.post("login", {"email": "k99@example.de", "password": WRONG},
                               headers={"X-Forwarded-For": "2001:db8:7:1:ffff::9"})
    assert await problem(locked) == (429, "too_many_attempts")
    neighbour = await portal.post("login", {"email": "k99@example.de", "password": WRONG},
                                  headers={"X-Forwarded-For": "2001:db8:7:2::1"})
    assert neighbour.status == 401


# --- the owner hears of it ------------------------------------------------------------


async def test_the_owner_is_told_once_when_guessing_starts_and_at_most_daily(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account()
    for i in range(4):
        await login(portal, WRONG, attacker(i))
    assert await portal.events("suspicious-logins") == []
    await login(portal, WRONG, attacker(4))
    [notice] = await portal.events("suspicious-logins")
    assert notice.payload.email == "max@example.de"  # type: ignore[attr-defined]
    assert notice.payload.failed_attempts == 5  # type: ignore[attr-defined]
    for i in range(5, 7):
        await login(portal, WRONG, attacker(i), altcha=await solved(portal.client))
    assert len(await portal.events("suspicious-logins")) == 1

    # The owner sets a new password (which starts the count anew); guessing goes on: no
    # second mail within the day, but one in the next window a day later.
    await portal.post("password/forgot", {"customer_number": "10001", "email": "max@example.de"}, headers=OWNER)
    reset = (await portal.events("reset-requested"))[-1].payload.reset_token  # type: ignore[attr-defined]
    assert (await portal.post("password/reset", {"token": reset, "password": "Neue!Wolke8Tal"})).status == 200
    for i in range(5):
        await login(portal, WRONG, attacker(i))
    assert (await login(portal, WRONG, attacker(9))).status == 428
    assert len(await portal.events("suspicious-logins")) == 1
    clock.advance(hours=24, seconds=1)
    for i in range(5):
        await login(portal, WRONG, attacker(i))
    assert len(await portal.events("suspicious-logins")) == 2


async def test_nobody_is_told_about_guesses_at_unknown_addresses(portal: Portal) -> None:
    for i in range(6):
        await portal.post("login", {"email": "ghost@example.de", "password": WRONG}, headers=attacker(i))
    assert await portal.events("suspicious-logins") == []


# --- forgot password: always 202 --------------------------------------------------------


async def test_forgot_always_answers_202_and_past_its_limit_quietly_sends_nothing(portal: Portal) -> None:
    await portal.active_account()
    body = {"customer_number": "10001", "email": "max@example.de"}
    statuses = [(await portal.post("password/forgot", body, headers=attacker(i))).status for i in range(5)]
    assert statuses == [202] * 5
    assert len(await portal.events("reset-requested")) == 3
    # The owner's own request is answered alike; the newest mail's link works.
    assert (await portal.post("password/forgot", body, headers=OWNER)).status == 202
    assert len(await portal.events("reset-requested")) == 3


async def test_requests_that_match_nothing_do_not_use_up_the_owners_mails(portal: Portal) -> None:
    await portal.active_account()
    for i in range(5):
        wrong = {"customer_number": f"9999{i}", "email": "max@example.de"}
        assert (await portal.post("password/forgot", wrong, headers=attacker(i))).status == 202
    right = {"customer_number": "10001", "email": "max@example.de"}
    assert (await portal.post("password/forgot", right, headers=OWNER)).status == 202
    assert len(await portal.events("reset-requested")) == 1


async def test_ownership_mails_anyone_with_an_invoice_can_cause_are_bounded_per_customer_number_quietly(
    portal: Portal, clock: FakeClock
) -> None:
    # No per-number 429 any more (it kept the customer out): instead, past five mails an
    # hour about a customer number's ownership, registrations and forgot requests are
    # answered alike and mail nothing more.
    await portal.sql(
        "UPDATE auth.customers SET email = 'max@example.de', email_key = 'max@example.de'"
        " WHERE customer_number = '10001'"
    )
    for i in range(4):
        refused = await portal.post("register", registration(email=f"thief{i}@example.org"), headers=attacker(i))
        assert refused.status == 202
    forgot = {"customer_number": "10001", "email": "max@example.de"}
    # Nobody holds the number yet, so forgot tells nothing and counts nothing.
    assert (await portal.post("password/forgot", forgot, headers=attacker(4))).status == 202
    for i in range(5, 7):
        refused = await portal.post("register", registration(email=f"thief{i}@example.org"), headers=attacker(i))
        assert refused.status == 202
    assert len(await portal.events("registration-refused")) == 5
    audits = await portal.sql(
        "SELECT detail FROM auth.audit_log WHERE action = 'registration_refused' ORDER BY id"
    )
    assert [json.loads(a["detail"])["sent"] for a in audits] == [True] * 5 + [False]

    # The address on file still registers (and nothing stands in its way), and an hour
    # later mails flow again.
    token = await portal.register()
    assert (await portal.post("activate", {"token": token})).status == 200
    clock.advance(hours=1)
    assert (await portal.post("register", registration(email="late@example.org"), headers=OWNER)).status == 202
    assert len(await portal.events("registration-refused")) == 6


async def test_contested_mails_are_bounded_per_customer_number_too(portal: Portal, clock: FakeClock) -> None:
    # Without an address on file, registrations from other addresses wait side by side;
    # each earlier one is told of a later one while the number's mails last.
    for i in range(7):
        assert (await portal.post(
            "register", registration(email=f"r{i}@example.org"), headers=attacker(i)
        )).status == 202
    contested = await portal.events("registration-contested")
    # Registrations 2..6 told 1, 2, 3, 4, 5 earlier ones; 7 told none.
    assert len(contested) == 1 + 2 + 3 + 4 + 5
    assert len(await portal.events("registration-created")) == 7


# --- a pending account looks like a wrong password --------------------------------------


async def test_login_of_a_pending_account_looks_like_a_wrong_password_and_mails_a_fresh_link(portal: Portal) -> None:
    old_token = await portal.register()
    right = await login(portal, GOOD_PASSWORD, OWNER)
    wrong = await login(portal, WRONG, attacker(0))
    assert right.status == wrong.status == 401
    assert await right.json() == await wrong.json()

    [reminder] = await portal.events("activation-reminder")
    assert reminder.payload.email == "max@example.de"  # type: ignore[attr-defined]
    fresh = reminder.payload.activation_token  # type: ignore[attr-defined]
    assert fresh != old_token
    # Only the newest link works.
    assert await problem(await portal.post("activate", {"token": old_token})) == (400, "token_invalid")
    assert (await portal.post("activate", {"token": fresh})).status == 200
    assert (await login(portal, GOOD_PASSWORD, OWNER)).status == 200


async def test_a_wrong_password_on_a_pending_account_mails_nothing(portal: Portal) -> None:
    await portal.register()
    assert (await login(portal, WRONG, OWNER)).status == 401
    assert await portal.events("activation-reminder") == []


async def test_activation_reminders_are_few_an_hour(portal: Portal) -> None:
    await portal.register()
    for i in range(5):
        assert (await login(portal, GOOD_PASSWORD, attacker(i))).status == 401
    assert len(await portal.events("activation-reminder")) == 3


async def test_registering_an_address_then_logging_in_tells_nothing_about_it(portal: Portal) -> None:
    """The finding: register the target address under your own customer number, then log
    in with your password. No account → pending account; account → notice to its owner.
    Both answers must be the same."""
    await portal.active_account()  # max@example.de has an account; free@example.de has none
    answers = []
    for address, (number, name) in (("max@example.de", ("10002", "Müller")),
                                    ("free@example.de", ("10003", "Schmidt"))):
        mine = registration(customer_number=number, last_name=name, email=address, password="Eigen!Pass9wort")
        assert (await portal.post("register", mine, headers=attacker(0))).status == 202
        response = await portal.post("login", {"email": address, "password": "Eigen!Pass9wort"}, headers=attacker(1))
        answers.append((response.status, await response.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401


# --- a logged-in customer re-entering the password --------------------------------------


async def test_guesses_at_login_do_not_keep_the_owner_from_changing_the_password(portal: Portal) -> None:
    await portal.active_account()
    tokens = await portal.login()
    for i in range(8):
        await login(portal, WRONG, attacker(i))
    change = {"current_password": GOOD_PASSWORD, "new_password": "Neue!Wolke8Tal"}
    assert (await portal.post("me/password", change, token=tokens["access_token"], headers=OWNER)).status == 204


async def test_a_stolen_session_cannot_be_used_to_guess_the_password(portal: Portal) -> None:
    await portal.active_account()
    token = (await portal.login())["access_token"]
    wrong = {"current_password": WRONG, "new_password": "Neue!Wolke8Tal"}
    for i in range(5):
        response = await portal.post("me/password", wrong, token=token, headers=attacker(i))
        assert await problem(response) == (422, "current_password_invalid")
    right = {"current_password": GOOD_PASSWORD, "new_password": "Neue!Wolke8Tal"}
    locked = await portal.post("me/password", right, token=token, headers=attacker(9))
    assert await problem(locked) == (429, "too_many_attempts")
    assert 0 < int(locked.headers["Retry-After"]) <= 30
    # Logging in is not affected: the lock is on confirmations, which need a session.
    assert (await login(portal, GOOD_PASSWORD, OWNER)).status == 200
