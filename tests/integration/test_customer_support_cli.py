"""`portal-auth customer show|release NUMBER` as support runs it: who holds a customer
number, and giving it back to its rightful customer."""

from __future__ import annotations

import getpass
import json
import os

import pytest

from portal_auth.passwords import Passwords
from tests.integration.conftest import Portal
from tests.integration.test_auth_ownership import put_on_file
from tests.support import CommandResult, console_script, run_command

pytestmark = pytest.mark.integration


async def support(database_url: str, *args: str) -> CommandResult:
    return await run_command(
        console_script("portal-auth"), "customer", *args,
        env={**os.environ, "AUTH_DATABASE_URL": database_url},
    )


async def test_support_sees_the_holder_releases_the_number_and_the_customer_registers(
    portal: Portal, database_url: str, passwords: Passwords
) -> None:
    # The thief registered with the invoice before the customer's address was on file.
    await portal.active_account(email="thief@example.org")
    session = await portal.login("thief@example.org")
    await put_on_file(portal, passwords, email="max@example.de", code="ABCDEFGH")

    shown = await support(database_url, "show", "10001")
    assert shown.returncode == 0, shown.stderr
    assert "customer number 10001: Mustermann" in shown.stdout
    assert "e-mail on file: m***@e***.de" in shown.stdout
    assert "registration code on file: yes" in shown.stdout
    assert "held by 1 account(s):" in shown.stdout
    assert "active   t***@e***.org, NOT the address on file; created " in shown.stdout
    assert "thief" not in shown.stdout and "example.org" not in shown.stdout

    released = await support(database_url, "release", "10001", "--reason", "Ticket 4711")
    assert released.returncode == 0, released.stderr
    assert "released: active account t***@e***.org (its holder is told by mail)" in released.stdout
    assert "customer number 10001 is free" in released.stdout
    assert await portal.sql("SELECT 1 FROM auth.accounts") == []
    assert await portal.me(session["access_token"]) == 401  # the thief's session ended with it

    [told] = await portal.events("customer-released")
    assert (told.payload.email, told.payload.status, told.payload.customer_number) == (  # type: ignore[attr-defined]
        "thief@example.org", "active", "10001"
    )
    audit = await portal.sql(
        "SELECT action, customer_number, detail FROM auth.audit_log"
        " WHERE action IN ('customer_shown', 'customer_released') ORDER BY id"
    )
    assert [(a["action"], a["customer_number"]) for a in audit] == [
        ("customer_shown", "10001"), ("customer_released", "10001")
    ]
    details = [json.loads(a["detail"]) for a in audit]
    assert {d["by"] for d in details} == {getpass.getuser()}
    assert details[1] == {"by": getpass.getuser(), "status": "active", "reason": "Ticket 4711"}

    # The rightful customer registers with the address on file and the letter's code.
    token = await portal.register(registration_code="abcd-efgh")
    assert (await portal.post("activate", {"token": token})).status == 200
    again = await support(database_url, "show", "10001")
    assert "active   m***@e***.de, the address on file; created " in again.stdout


async def test_pending_holders_are_listed_and_released_too(portal: Portal, database_url: str) -> None:
    await portal.register()
    await portal.register(email="thief@example.org")
    shown = await support(database_url, "show", " 100 01 ")  # as typed on the phone
    assert "held by 2 account(s):" in shown.stdout
    assert shown.stdout.count("pending  ") == 2
    assert "e-mail on file: no" in shown.stdout and "registration code on file: no" in shown.stdout

    released = await support(database_url, "release", "10001")
    assert released.stdout.count("released: pending account") == 2
    assert sorted(e.payload.email for e in await portal.events("customer-released")) == [  # type: ignore[attr-defined]
        "max@example.de", "thief@example.org"
    ]


async def test_a_free_or_unknown_customer_number(portal: Portal, database_url: str) -> None:
    free = await support(database_url, "show", "10002")
    assert (free.returncode, "held by: nobody" in free.stdout) == (0, True)
    nothing = await support(database_url, "release", "10002")
    assert (nothing.returncode, "nothing released" in nothing.stdout) == (0, True)
    unknown = await support(database_url, "show", "99999")
    assert unknown.returncode == 1
    assert "no customer number 99999" in unknown.stderr
    assert (await support(database_url, "release", "99999")).returncode == 1
