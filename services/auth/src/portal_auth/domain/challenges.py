"""Proof-of-work challenges (ALTCHA, v1 format), made and checked here — no third party.

A challenge is `SHA-256(salt + n)` for a secret n in 0..max_number, signed with our HMAC
key; the salt carries its expiry (`?expires=<unix time>&`) and so is covered by the
signature. The browser finds n by trying numbers (max_number/2 hashes on average) and
sends back the payload: base64 of `{algorithm, challenge, number, salt, signature}`.

Pure functions: what a payload must look like, whether it is genuine and still valid.
Whether it was already used is the caller's business (`portal_auth.challenges`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from altcha import create_challenge_v1, verify_solution_v1

ALGORITHM = "SHA-256"
MAX_PAYLOAD_CHARS = 1000  # a genuine payload is about 300 characters
MAX_NUMBER = 10**9  # far above any difficulty we set
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SALT = re.compile(r"^[0-9a-f]{16,64}\?expires=[0-9]{1,12}&$")


@dataclass(frozen=True)
class Solved:
    """A genuine, unexpired solution: `challenge` identifies it (for single use)."""

    challenge: str
    expires_at: datetime


def create(hmac_key: str, max_number: int, now: datetime, ttl: timedelta) -> dict[str, object]:
    """A fresh challenge as the widget and the portal's script expect it."""
    challenge = create_challenge_v1(hmac_key=hmac_key, max_number=max_number, expires=now + ttl)
    return challenge.to_dict()


def solved(raw: str, hmac_key: str, now: datetime) -> Solved | None:
    """The solution in `raw` when it is well formed, ours, right and not expired."""
    payload = parse_payload(raw)
    if payload is None:
        return None
    expires = expires_at(str(payload["salt"]))
    if expires is None or now >= expires:
        return None
    # The library checks the hash and the HMAC; expiry is checked above, against our
    # clock rather than the machine's.
    genuine, _ = verify_solution_v1(payload, hmac_key, check_expires=False)  # type: ignore[arg-type]
    return Solved(str(payload["challenge"]), expires) if genuine else None


def parse_payload(raw: str) -> dict[str, object] | None:
    """The payload's fields when they have the shape our challenges have, else None."""
    if not raw or len(raw) > MAX_PAYLOAD_CHARS:
        return None
    try:
        data = json.loads(base64.b64decode(raw, validate=True))
    except (ValueError, binascii.Error, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    number = data.get("number")
    fields = {k: data.get(k) for k in ("algorithm", "challenge", "number", "salt", "signature")}
    if (
        fields["algorithm"] != ALGORITHM
        or not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= MAX_NUMBER
        or not all(isinstance(fields[k], str) for k in ("challenge", "salt", "signature"))
        or not _HEX64.match(str(fields["challenge"])) or not _HEX64.match(str(fields["signature"]))
        or not _SALT.match(str(fields["salt"]))
    ):
        return None
    return fields


def expires_at(salt: str) -> datetime | None:
    _, _, query = salt.partition("?")
    values = parse_qs(query).get("expires", [])
    if len(values) != 1 or not values[0].isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(values[0]), UTC)
    except (OverflowError, OSError, ValueError):
        return None
