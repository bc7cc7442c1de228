"""Device tokens (OWASP "device cookies"): proof that a browser logged in to an account
before. Failed logins that carry a valid one are counted for that device alone, so
guesses from elsewhere never make the owner's own browser solve a challenge.

A token is `<device id>.<issued, unix seconds>.<HMAC-SHA256(account id, device id,
issued)>`: nothing is stored, it cannot be made for another account, and it lapses after
`DEVICE_TOKEN_TTL`. It proves nothing but "this browser logged in here before": it is
never a credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

DEVICE_TOKEN_TTL = timedelta(days=180)
MAX_TOKEN_CHARS = 200
_SHAPE = re.compile(r"^([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")


def new_device_id() -> str:
    return secrets.token_urlsafe(16)  # 128 bits, 22 characters


def issue(key: bytes, account_id: UUID, device_id: str, now: datetime) -> str:
    issued = int(now.timestamp())
    return f"{device_id}.{issued}.{_mac(key, account_id, device_id, issued)}"


def device_of(key: bytes, token: str, account_id: UUID, now: datetime) -> str | None:
    """The device id in `token` when the token was issued for this account and is
    still within its lifetime, else None."""
    found = _SHAPE.match(token) if len(token) <= MAX_TOKEN_CHARS else None
    if found is None:
        return None
    device_id, issued_text, mac = found.groups()
    issued = int(issued_text)
    if not hmac.compare_digest(mac, _mac(key, account_id, device_id, issued)):
        return None
    age = now - datetime.fromtimestamp(issued, UTC)
    if age > DEVICE_TOKEN_TTL or age < -timedelta(minutes=5):
        return None
    return device_id


def _mac(key: bytes, account_id: UUID, device_id: str, issued: int) -> str:
    digest = hmac.new(key, f"{account_id}|{device_id}|{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
