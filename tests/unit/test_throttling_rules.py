"""The pure rules behind throttling without lock-outs: when a challenge is needed, what a
solved challenge must be, and what a device token proves."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from portal_auth.domain import challenges, device_tokens
from portal_auth.domain.limits import ACCOUNT_CHALLENGES, CHALLENGE_TTL, IP_LOCKS
from portal_auth.domain.throttling import (
    ChallengePolicy,
    lock_duration,
    needs_challenge,
    threshold_reached_now,
)
from tests.challenge_support import solve

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KEY = "test-hmac-key"
ACCOUNT = UUID("3f2b8a5e-0000-4000-8000-000000000001")
OTHER = UUID("3f2b8a5e-0000-4000-8000-000000000002")


# --- when a challenge is needed ----------------------------------------------------------


def test_five_failures_are_free_then_every_attempt_needs_a_challenge() -> None:
    assert [needs_challenge(ACCOUNT_CHALLENGES, n) for n in range(8)] == [False] * 5 + [True] * 3


def test_the_owner_is_told_at_exactly_the_failure_that_starts_challenges() -> None:
    policy = ChallengePolicy(free_failures=3)
    assert [threshold_reached_now(policy, n) for n in range(1, 6)] == [False, False, True, False, False]


def test_ip_locks_start_after_30_failures_double_and_stop_at_an_hour() -> None:
    assert lock_duration(IP_LOCKS, 29) is None
    assert lock_duration(IP_LOCKS, 30) == timedelta(seconds=30)
    assert lock_duration(IP_LOCKS, 31) == timedelta(seconds=60)
    assert lock_duration(IP_LOCKS, 37) == timedelta(hours=1)
    assert lock_duration(IP_LOCKS, 10_000) == timedelta(hours=1)


# --- challenges ----------------------------------------------------------------------------


def made(max_number: int = 2_000, now: datetime = NOW) -> dict:
    return challenges.create(KEY, max_number, now, CHALLENGE_TTL)


def encode(payload: dict) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


def test_a_challenge_is_altchas_format_with_its_expiry_in_the_signed_salt() -> None:
    challenge = made()
    assert set(challenge) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert challenge["algorithm"] == "SHA-256"
    assert challenge["maxNumber"] == 2_000
    assert challenges.expires_at(challenge["salt"]) == NOW + timedelta(minutes=10)
    assert made()["salt"] != challenge["salt"]


def test_a_solution_is_accepted_until_it_expires() -> None:
    payload = solve(made())
    found = challenges.solved(payload, KEY, NOW + timedelta(minutes=9, seconds=59))
    assert found is not None
    assert found.expires_at == NOW + timedelta(minutes=10)
    assert challenges.solved(payload, KEY, NOW + timedelta(minutes=10)) is None


def test_a_solution_for_another_key_or_a_wrong_number_is_refused() -> None:
    payload = solve(made())
    assert challenges.solved(payload, "another-key", NOW) is None
    fields = json.loads(base64.b64decode(payload))
    assert challenges.solved(encode(fields | {"number": fields["number"] + 1}), KEY, NOW) is None


def test_the_expiry_cannot_be_moved() -> None:
    fields = json.loads(base64.b64decode(solve(made())))
    later = fields["salt"].replace("expires=", "expires=9")
    assert challenges.solved(encode(fields | {"salt": later}), KEY, NOW) is None


@pytest.mark.parametrize(
    "raw",
    ["", "%%%", "A" * 1001, encode({}), base64.b64encode(b"[]").decode(), base64.b64encode(b"\xff").decode(),
     encode({"algorithm": "SHA-1", "challenge": "0" * 64, "number": 1, "salt": "00" * 8 + "?expires=1&",
             "signature": "0" * 64}),
     encode({"algorithm": "SHA-256", "challenge": "0" * 64, "number": True, "salt": "00" * 8 + "?expires=1&",
             "signature": "0" * 64}),
     encode({"algorithm": "SHA-256", "challenge": "0" * 64, "number": 1, "salt": "no-expiry",
             "signature": "0" * 64})],
)
def test_anything_else_is_simply_not_a_solution(raw: str) -> None:
    assert challenges.parse_payload(raw) is None
    assert challenges.solved(raw, KEY, NOW) is None


# --- device tokens ---------------------------------------------------------------------------


def test_a_device_token_names_its_device_for_its_account_only() -> None:
    device = device_tokens.new_device_id()
    token = device_tokens.issue(b"k", ACCOUNT, device, NOW)
    assert device_tokens.device_of(b"k", token, ACCOUNT, NOW) == device
    assert device_tokens.device_of(b"k", token, OTHER, NOW) is None
    assert device_tokens.device_of(b"other key", token, ACCOUNT, NOW) is None


def test_a_device_token_lapses_after_180_days() -> None:
    token = device_tokens.issue(b"k", ACCOUNT, device_tokens.new_device_id(), NOW)
    assert device_tokens.device_of(b"k", token, ACCOUNT, NOW + timedelta(days=180)) is not None
    assert device_tokens.device_of(b"k", token, ACCOUNT, NOW + timedelta(days=180, seconds=1)) is None


@pytest.mark.parametrize("change", ["device", "issued", "mac", "shape"])
def test_a_changed_device_token_proves_nothing(change: str) -> None:
    device, issued, mac = device_tokens.issue(b"k", ACCOUNT, device_tokens.new_device_id(), NOW).split(".")
    forged = {
        "device": f"{'A' * 22}.{issued}.{mac}",
        "issued": f"{device}.{int(issued) - 1}.{mac}",
        "mac": f"{device}.{issued}.{'A' * 43}",
        "shape": f"{device}.{issued}.{mac}.x",
    }[change]
    assert device_tokens.device_of(b"k", forged, ACCOUNT, NOW) is None
