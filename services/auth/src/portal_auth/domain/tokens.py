"""Single-use secrets sent by mail: generated here, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

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


@dataclass(frozen=True, slots=True)
class MailedLink:
    """What is on file of a mailed token (activation or reset link)."""

    account_id: UUID
    expires_at: datetime
    used_at: datetime | None

    @property
    def is_used(self) -> bool:
        return self.used_at is not None


@dataclass(frozen=True, slots=True)
class EmailChangeLink(MailedLink):
    """The link mailed to a new address, with the address it confirms."""

    new_email: str
    new_email_key: str
