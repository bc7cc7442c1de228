"""Single-use secrets sent by mail: generated here, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

TOKEN_BYTES = 32  # 256 bits of randomness
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> tuple[str, bytes]:
    """A fresh token for the mail and the hash that is all the database keeps."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def is_well_formed(token: str) -> bool:
    return _TOKEN_SHAPE.match(token) is not None


def expires_at(now: datetime, ttl: timedelta) -> datetime:
    return now + ttl


def is_expired(expires: datetime, now: datetime) -> bool:
    return now >= expires
