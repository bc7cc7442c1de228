"""The auth HTTP contract against the real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from portal_shared.events import decode
from tests.integration.conftest import GOOD_PASSWORD, registration

pytestmark = pytest.mark.integration


async def outbox_events(database_url: str) -> list:
    conn = await asyncpg.connect(database_url)
    try:
        return [decode(r["body"]) for r in await conn.fetch("SELECT body FROM auth.outbox ORDER BY id")]
    finally:
        await conn.close()


async def test_register_answers_202_and_writes_the_event_to_the_outbox(
    auth_client: TestClient, database_url: str
) -> None:
    response = await auth_client.post("/api/v1/auth/register", json=registration())
    assert response.status == 202
    events = await outbox_events(database_url)
    assert [e.envelope.event_type for e in events] == ["registration-created"]
    assert events[0].payload.email == "max@example.de"
    assert events[0].envelope.correlation_id == response.headers["X-Request-ID"]


async def test_customer_data_are_compared_trimmed_normalised_and_case_insensitively(
    auth_client: TestClient,
) -> None:
    body = registration(last_name="  MU\u0308LLER ", customer_number=" 10002 ", email="m@example.de")
    response = await auth_client.post("/api/v1/auth/register", json=body)
    assert response.status == 202


@pytest.mark.parametrize(
    "overrides",
    [{"last_name": "Musterfrau"}, {"customer_number": "99999"}],
    ids=["wrong-last-name", "unknown-customer-number"],
)
async def test_mismatch_is_one_answer_without_a_hint_which_field(
    auth_client: TestClient, overrides: dict
) -> None:
    response = await auth_client.post("/api/v1/auth/register", json=registration(**overrides))
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["code"] == "customer_mismatch"
    assert "errors" not in body


async def test_terms_must_be_accepted(auth_client: TestClient) -> None:
    response = await auth_client.post("/api/v1/auth/register", json=registration(accept_privacy=False))
    body = await response.json()
    assert (response.status, body["code"]) == (422, "terms_not_accepted")
    assert body["errors"] == [{"field": "accept_privacy", "code": "required"}]


async def test_password_policy_violations_are_listed_by_rule_id(auth_client: TestClient) -> None:
    response = await auth_client.post("/api/v1/auth/register", json=registration(password="qxz789"))
    body = await response.json()
    assert (response.status, body["code"]) == (422, "password_policy")
    assert {e["code"] for e in body["errors"]} == {
        "min_length", "special_char", "upper_and_lower", "no_sequence"
    }


async def test_validation_errors_name_the_fields(auth_client: TestClient) -> None:
    response = await auth_client.post(
        "/api/v1/auth/register", json={"email": "not-an-address", "accept_terms": "yes"}
    )
    body = await response.json()
    assert (response.status, body["code"]) == (422, "validation_error")
    fields = {e["field"]: e["code"] for e in body["errors"]}
    assert fields["email"] == "invalid_email"
    assert fields["last_name"] == "required"
    assert fields["accept_terms"] == "not_a_boolean"


async def test_errors_are_german_by_default_and_english_on_request(auth_client: TestClient) -> None:
    german = await (await auth_client.post("/api/v1/auth/login", json={"email": "x@y.de", "password": "x"})).json()
    english = await (
        await auth_client.post(
            "/api/v1/auth/login",
            json={"email": "x@y.de", "password": "x"},
            headers={"Accept-Language": "en-GB,en;q=0.9,de;q=0.5"},
        )
    ).json()
    assert german["detail"] == "E-Mail-Adresse oder Passwort ist falsch."
    assert english["detail"] == "E-mail address or password is incorrect."
    assert german["code"] == english["code"] == "invalid_credentials"


async def test_malformed_json_is_a_problem_not_a_500(auth_client: TestClient) -> None:
    response = await auth_client.post(
        "/api/v1/auth/register", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["code"] == "invalid_json"


async def test_unknown_route_is_a_problem(auth_client: TestClient) -> None:
    response = await auth_client.get("/api/v1/auth/nothing-here")
    assert response.status == 404
    assert response.content_type == "application/problem+json"


async def _register_and_token(auth_client: TestClient, database_url: str, **overrides: object) -> str:
    assert (await auth_client.post("/api/v1/auth/register", json=registration(**overrides))).status == 202
    return (await outbox_events(database_url))[-1].payload.activation_token


async def test_activation_then_login_then_me(auth_client: TestClient, database_url: str) -> None:
    token = await _register_and_token(auth_client, database_url)
    assert (await auth_client.post("/api/v1/auth/activate", json={"token": token})).status == 200

    login = await auth_client.post(
        "/api/v1/auth/login", json={"email": "MAX@Example.DE", "password": GOOD_PASSWORD}
    )
    assert login.status == 200
    tokens = await login.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["refresh_token"]

    me = await auth_client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status == 200
    profile = await me.json()
    assert profile["customer_number"] == "10001"
    assert profile["last_name"] == "Mustermann"
    assert profile["email"] == "max@example.de"
    assert profile["created_at"]


async def test_an_unknown_token_is_invalid_and_a_used_one_already_activated(
    auth_client: TestClient, database_url: str
) -> None:
    token = await _register_and_token(auth_client, database_url)
    assert (await auth_client.post("/api/v1/auth/activate", json={"token": token})).status == 200
    for candidate in ("x" * 43, "short"):
        response = await auth_client.post("/api/v1/auth/activate", json={"token": candidate})
        assert response.status == 400
        assert (await response.json())["code"] == "token_invalid"
    used = await auth_client.post("/api/v1/auth/activate", json={"token": token})
    assert (used.status, (await used.json())["code"]) == (409, "already_activated")


async def test_login_before_activation_looks_like_a_wrong_password(
    auth_client: TestClient, database_url: str
) -> None:
    # Was 403 account_not_activated after the right password, which told anyone who
    # registered an address whether it had an account. Now: the same 401 as a wrong
    # password, and the address gets a fresh activation link.
    await _register_and_token(auth_client, database_url)
    wrong = await auth_client.post("/api/v1/auth/login", json={"email": "max@example.de", "password": "Wrong!123x"})
    right = await auth_client.post("/api/v1/auth/login", json={"email": "max@example.de", "password": GOOD_PASSWORD})
    assert wrong.status == right.status == 401
    assert await wrong.json() == await right.json()


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    auth_client: TestClient, database_url: str
) -> None:
    token = await _register_and_token(auth_client, database_url)
    await auth_client.post("/api/v1/auth/activate", json={"token": token})
    unknown = await auth_client.post("/api/v1/auth/login", json={"email": "nobody@example.de", "password": GOOD_PASSWORD})
    wrong = await auth_client.post("/api/v1/auth/login", json={"email": "max@example.de", "password": "Wrong!123x"})
    assert unknown.status == wrong.status == 401
    assert await unknown.json() == await wrong.json() | {"instance": "/api/v1/auth/login"}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not.a.jwt", "Basic abc"])
async def test_me_without_a_valid_token_is_401(auth_client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = await auth_client.get("/api/v1/auth/me", headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_metrics_count_requests_by_route_pattern(auth_client: TestClient) -> None:
    await auth_client.post("/api/v1/auth/login", json={"email": "x@y.de", "password": "x"})
    text = await (await auth_client.get("/metrics")).text()
    assert 'http_requests_total{method="POST",route="/api/v1/auth/login",status="401"} 1.0' in text
    assert "http_request_duration_seconds_bucket" in text


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({"Content-Type": "text/plain"}, b'{"token": "x"}', 415, "unsupported_media_type"),
        ({}, b'{"token": "x"}', 415, "unsupported_media_type"),
        ({"Content-Type": "application/json; charset=foobar"}, b'{"token": "x"}', 400, "token_invalid"),
        ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, b"not gzip", 400, "invalid_json"),
        ({"Content-Type": "application/json"}, b"[" * 5000 + b"]" * 5000, 400, "invalid_json"),
        ({"Content-Type": "application/json"}, b'{"a":' * 3000 + b"1" + b"}" * 3000, 400, "invalid_json"),
    ],
    ids=["text-plain", "no-type", "unknown-charset", "broken-gzip", "deep-list", "deep-object"],
)
async def test_odd_bodies_get_a_problem_never_a_500(
    auth_client: TestClient, headers: dict, body: bytes, status: int, code: str
) -> None:
    response = await auth_client.post("/api/v1/auth/activate", data=body, headers=headers)
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == code
