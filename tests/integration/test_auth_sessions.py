"""Login, brute-force throttling, refresh rotation, logout, signing keys."""

from __future__ import annotations

import asyncio

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from portal_auth.app import create_app
from portal_auth.config import AuthSettings
from portal_auth.passwords import Passwords
from tests.challenge_support import solved
from tests.integration.conftest import GOOD_PASSWORD, FakeClock, Portal
from tests.support import running

pytestmark = pytest.mark.integration

WRONG = "Wrong!Pass7word"


async def test_failures_make_attempts_need_a_challenge_even_for_the_right_password_never_a_lock(
    portal: Portal, clock: FakeClock
) -> None:
    # Was: five failures locked the account (429 + Retry-After, doubling) even for its
    # owner. Now the account is never locked: the next attempts need a solved challenge
    # (tests/integration/test_auth_throttling.py covers the rest).
    await portal.active_account()
    for _ in range(4):
        assert (await portal.post("login", {"email": "max@example.de", "password": WRONG})).status == 401
    fifth = await portal.post("login", {"email": "max@example.de", "password": WRONG})
    assert fifth.status == 401
    assert (await fifth.json())["challenge_required"] is True
    refused = await portal.post("login", {"email": "max@example.de", "password": GOOD_PASSWORD})
    assert refused.status == 428
    assert (await refused.json())["code"] == "challenge_required"
    assert "Retry-After" not in refused.headers

    altcha = await solved(portal.client)
    await portal.login(altcha=altcha)
    clock.advance(hours=24, seconds=1)  # a quiet day starts the count anew
    await portal.login()


async def test_unknown_addresses_need_a_challenge_the_same_way(portal: Portal) -> None:
    for _ in range(5):
        await portal.post("login", {"email": "ghost@example.de", "password": WRONG})
    response = await portal.post("login", {"email": "ghost@example.de", "password": WRONG})
    assert response.status == 428


async def test_a_hash_with_old_parameters_is_upgraded_at_login(portal: Portal) -> None:
    await portal.active_account()
    weak = Passwords(workers=1, time_cost=1, memory_cost=8 * 1024, parallelism=1)
    await portal.sql("UPDATE auth.accounts SET password_hash = $1", await weak.hash(GOOD_PASSWORD))
    weak.close()
    await portal.login()
    [row] = await portal.sql("SELECT password_hash FROM auth.accounts")
    assert row["password_hash"].startswith("$argon2id$v=19$m=7168,t=5,p=1$")


async def test_refresh_rotates_and_a_reused_token_ends_the_whole_session(portal: Portal) -> None:
    await portal.active_account()
    first = await portal.login()
    rotated = await portal.post("refresh", {"refresh_token": first["refresh_token"]})
    assert rotated.status == 200
    second = await rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert await portal.me(second["access_token"]) == 200

    stolen = await portal.post("refresh", {"refresh_token": first["refresh_token"]})
    assert (stolen.status, (await stolen.json())["code"]) == (401, "refresh_token_invalid")
    assert (await portal.post("refresh", {"refresh_token": second["refresh_token"]})).status == 401
    assert await portal.me(second["access_token"]) == 401


async def test_refresh_tokens_expire(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account()
    tokens = await portal.login()
    clock.advance(days=31)
    assert (await portal.post("refresh", {"refresh_token": tokens["refresh_token"]})).status == 401


async def test_access_tokens_expire_after_15_minutes(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account()
    tokens = await portal.login()
    clock.advance(minutes=14, seconds=59)
    assert await portal.me(tokens["access_token"]) == 200
    clock.advance(seconds=1)
    assert await portal.me(tokens["access_token"]) == 401


async def test_logout_ends_the_session(portal: Portal) -> None:
    await portal.active_account()
    tokens = await portal.login()
    other = await portal.login()
    session = {"Authorization": f"Bearer {tokens['access_token']}"}
    open_session = await portal.client.get("/api/v1/auth/session", headers=session)
    assert (open_session.status, await open_session.json()) == (200, {"roles": []})
    assert (await portal.post("logout", token=tokens["access_token"])).status == 204
    assert await portal.me(tokens["access_token"]) == 401
    assert (await portal.client.get("/api/v1/auth/session", headers=session)).status == 401
    assert (await portal.post("refresh", {"refresh_token": tokens["refresh_token"]})).status == 401
    assert await portal.me(other["access_token"]) == 200


async def test_access_tokens_are_eddsa_jwts_verifiable_from_the_jwks(portal: Portal) -> None:
    await portal.active_account()
    tokens = await portal.login()
    jwks = await (await portal.client.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "EdDSA"
    [key] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    public_key = jwt.PyJWK(key).key
    claims = jwt.decode(tokens["access_token"], public_key, algorithms=["EdDSA"], audience="kundenportal")
    assert claims["exp"] - claims["iat"] == 900
    assert claims["roles"] == []


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def test_rotated_keys_stay_published_and_accepted_until_their_tokens_expire(
    portal: Portal, auth_settings: AuthSettings, passwords: Passwords, clock: FakeClock
) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    old_settings = auth_settings.model_copy(update={"jwt_private_key": SecretStr(_pem(old))})
    await portal.active_account()
    async with running(create_app(old_settings, clock=clock, passwords=passwords)) as before:
        response = await before.post("/api/v1/auth/login", json={"email": "max@example.de", "password": GOOD_PASSWORD})
        issued_by_old = (await response.json())["access_token"]

    old_public = old.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    rotated = auth_settings.model_copy(
        update={"jwt_private_key": SecretStr(_pem(new)), "jwt_retired_public_keys": [old_public]}
    )
    async with running(create_app(rotated, clock=clock, passwords=passwords)) as after:
        jwks = await (await after.get("/.well-known/jwks.json")).json()
        assert len(jwks["keys"]) == 2
        me = await after.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued_by_old}"})
        assert me.status == 200
    async with running(create_app(auth_settings.model_copy(update={"jwt_private_key": SecretStr(_pem(new))}),
                                  clock=clock, passwords=passwords)) as retired:
        me = await retired.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued_by_old}"})
        assert me.status == 401


async def test_a_burst_of_parallel_guesses_runs_into_the_challenge(portal: Portal) -> None:
    await portal.active_account()
    wrong = {"email": "max@example.de", "password": WRONG}
    responses = await asyncio.gather(*(portal.post("login", wrong) for _ in range(20)))
    statuses = sorted(r.status for r in responses)
    assert statuses.count(401) == 5
    assert statuses.count(428) == 15  # was 429: locked; now: each needs a solved challenge


async def test_refreshing_never_keeps_a_session_past_its_maximum_age(portal: Portal, clock: FakeClock) -> None:
    await portal.active_account()
    tokens = await portal.login()
    for _ in range(3):  # day 29, 58, 87: each refresh would extend by 30 days
        clock.advance(days=29)
        response = await portal.post("refresh", {"refresh_token": tokens["refresh_token"]})
        assert response.status == 200
        tokens = await response.json()
    clock.advance(days=2, hours=23, minutes=50)  # 10 minutes before day 90
    response = await portal.post("refresh", {"refresh_token": tokens["refresh_token"]})
    assert response.status == 200
    tokens = await response.json()
    assert await portal.me(tokens["access_token"]) == 200

    clock.advance(minutes=10)  # 90 days after the login, whatever the refreshes
    assert await portal.me(tokens["access_token"]) == 401  # although the token has 5 minutes left
    ended = await portal.post("refresh", {"refresh_token": tokens["refresh_token"]})
    assert (ended.status, (await ended.json())["code"]) == (401, "refresh_token_invalid")
    session = await portal.client.get("/api/v1/auth/session", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert session.status == 401
    await portal.login()  # a new login starts a new session


async def test_the_maximum_age_is_configurable(
    portal: Portal, auth_settings: AuthSettings, passwords: Passwords, clock: FakeClock
) -> None:
    await portal.active_account()
    short = auth_settings.model_copy(update={"session_max_age_days": 1})
    async with running(create_app(short, clock=clock, passwords=passwords)) as auth:
        login = await auth.post("/api/v1/auth/login", json={"email": "max@example.de", "password": GOOD_PASSWORD})
        tokens = await login.json()
        clock.advance(hours=23)
        refreshed = await auth.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status == 200
        clock.advance(hours=1)
        again = await auth.post("/api/v1/auth/refresh", json={"refresh_token": (await refreshed.json())["refresh_token"]})
        assert again.status == 401
