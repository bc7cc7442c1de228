"""Account deletion, the audit log, roles, and the password policy endpoints."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time

import jwt
import pytest

from portal_auth.domain import password_strength
from tests.integration.conftest import GOOD_PASSWORD, Portal, registration
from tests.support import console_script, eventually, run_command

pytestmark = pytest.mark.integration


async def test_deleting_the_account_frees_the_customer_number(portal: Portal) -> None:
    await portal.active_account()
    token = (await portal.login())["access_token"]
    wrong = await portal.client.delete("/api/v1/auth/me", json={"password": "Falsch!7Xq"},
                                       headers={"Authorization": f"Bearer {token}"})
    assert wrong.status == 422
    deleted = await portal.client.delete("/api/v1/auth/me", json={"password": GOOD_PASSWORD},
                                         headers={"Authorization": f"Bearer {token}"})
    assert deleted.status == 204
    assert await portal.me(token) == 401
    assert (await portal.post("login", {"email": "max@example.de", "password": GOOD_PASSWORD})).status == 401
    assert await portal.sql("SELECT 1 FROM auth.accounts") == []
    assert await portal.sql("SELECT 1 FROM auth.password_history") == []
    await portal.register(email="max.neu@example.de")  # the customer number is free again
    assert len(await portal.events("registration-created")) == 2


async def test_the_audit_log_records_who_when_where_but_no_secret(portal: Portal) -> None:
    await portal.active_account()
    await portal.post("login", {"email": "max@example.de", "password": "Falsch!7Xq"})
    tokens = await portal.login()
    await portal.post("me/password", {"current_password": GOOD_PASSWORD, "new_password": "Neue!Wolke8Tal"},
                      token=tokens["access_token"])
    await portal.client.delete("/api/v1/auth/me", json={"password": "Neue!Wolke8Tal"},
                               headers={"Authorization": f"Bearer {tokens['access_token']}"})
    rows = await portal.sql("SELECT action, account_id, ip, detail, occurred_at FROM auth.audit_log ORDER BY id")
    actions = [r["action"] for r in rows]
    for expected in ("account_activated", "login_failed", "login_succeeded", "password_change", "account_deleted"):
        assert expected in actions
    assert all(r["ip"] == "127.0.0.1" and r["occurred_at"] for r in rows)
    dump = json.dumps([dict(r) for r in rows], default=str)
    for secret in (GOOD_PASSWORD, "Neue!Wolke8Tal", "Falsch!7Xq", tokens["refresh_token"], tokens["access_token"]):
        assert secret not in dump


async def test_grant_role_puts_the_role_into_the_next_access_token(portal: Portal, database_url: str) -> None:
    await portal.active_account()
    cli = console_script("portal-auth")
    env = {**os.environ, "AUTH_DATABASE_URL": database_url}
    granted = await run_command(cli, "grant-role", "MAX@example.de", "faq_editor", env=env)
    assert granted.returncode == 0, granted.stderr
    unknown = await run_command(cli, "grant-role", "nobody@example.de", "faq_editor", env=env)
    assert unknown.returncode == 1 and "nobody@example.de" in unknown.stderr
    claims = jwt.decode((await portal.login())["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["faq_editor"]
    revoked = await run_command(cli, "revoke-role", "max@example.de", "faq_editor", env=env)
    assert revoked.returncode == 0, revoked.stderr
    claims = jwt.decode((await portal.login())["access_token"], options={"verify_signature": False})
    assert claims["roles"] == []


async def test_the_policy_is_published_in_german_and_english(portal: Portal) -> None:
    body = await (await portal.client.get("/api/v1/auth/password/policy")).json()
    ids = [rule["id"] for rule in body["rules"]]
    assert ids[:5] == ["min_length", "special_char", "digit", "upper_and_lower", "no_sequence"]
    assert {"not_common", "not_personal", "max_length"} <= set(ids)
    assert body["min_length"] == 8 and body["history"] == 5 and body["max_length"] >= 128
    assert all(rule["de"] and rule["en"] for rule in body["rules"])


async def test_check_gives_feedback_and_stores_nothing(portal: Portal) -> None:
    before = await portal.sql("SELECT (SELECT count(*) FROM auth.audit_log) + (SELECT count(*) FROM auth.accounts) AS n")
    weak = await (await portal.post("password/check", {"password": "Mustermann1!", "last_name": "Mustermann"})).json()
    assert weak["valid"] is False and "not_personal" in weak["violations"] and weak["strength"] <= 1
    strong = await (await portal.post("password/check", {"password": "Kx#4-mUtz9-Lapo!Wq"})).json()
    assert strong == {"valid": True, "violations": [], "strength": strong["strength"]}
    assert strong["strength"] >= 3
    after = await portal.sql("SELECT (SELECT count(*) FROM auth.audit_log) + (SELECT count(*) FROM auth.accounts) AS n")
    assert before[0]["n"] == after[0]["n"]


async def test_the_openapi_document_describes_every_route(portal: Portal) -> None:
    document = await (await portal.client.get("/api/v1/auth/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    routes = {
        (resource.canonical, method.lower())
        for resource in portal.client.app.router.resources()
        for route in resource
        if (method := route.method) != "HEAD"
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert {r for r in routes if r[0].startswith("/api/v1/auth/") and not r[0].endswith("openapi.json")} <= documented
    assert registration()["customer_number"] == "10001"


async def test_the_check_endpoint_is_rate_limited(portal: Portal) -> None:
    statuses = [
        (await portal.post("password/check", {"password": f"Probe!{i}xQ"})).status for i in range(121)
    ]
    assert statuses[:120] == [200] * 120
    assert statuses[120] == 429


async def test_a_password_check_does_not_hold_up_other_requests(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strength estimate (zxcvbn, 18–70 ms of pure Python per check) runs beside
    the event loop: here it is made to take until /healthz has been answered."""
    computing, released = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []

    def estimate(password: str, user_inputs: list[str] | None = None) -> dict:
        threads.append(threading.current_thread())
        computing.set()
        if not released.wait(timeout=5):  # on the loop, nothing could release it
            raise AssertionError("the check held the event loop")
        return {"score": 4}

    monkeypatch.setattr(password_strength, "zxcvbn", estimate)
    check = asyncio.ensure_future(portal.post("password/check", {"password": "Kx#4-mUtz9-Lapo!Wq"}))

    async def is_computing() -> bool:
        return computing.is_set()

    await eventually(is_computing)
    started = time.perf_counter()
    health = await portal.client.get("/healthz")
    latency = time.perf_counter() - started
    released.set()
    response = await check
    assert threads and threads[0] is not threading.main_thread(), "estimated on the event loop"
    assert health.status == 200 and latency < 1.0, latency
    assert (response.status, (await response.json())["strength"]) == (200, 4)
