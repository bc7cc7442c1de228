"""The portal's server-side session and the rules of its lifetime."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal_shared.i18n import Language

# Writing `last_seen_at` on every request would make each page a database write; a
# minute of slack on a 30-minute idle timeout is harmless.
TOUCH_INTERVAL = timedelta(seconds=60)
# Refresh the access token when it has less than this left, so a call never races expiry.
REFRESH_MARGIN = timedelta(seconds=30)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def id_hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    access_expires_at: datetime


@dataclass(frozen=True)
class Session:
    id: str  # the cookie value; only its hash is stored
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    language: Language | None = None
    tokens: Tokens | None = None
    flash: dict[str, Any] | None = None

    @property
    def logged_in(self) -> bool:
        return self.tokens is not None


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    absolute: timedelta


def start(now: datetime, lifetime: Lifetime, language: Language | None = None) -> Session:
    """A new session: new id, new CSRF token. Login and logout always start one, so an
    id an attacker planted or saw before is worth nothing afterwards."""
    return Session(
        id=new_session_id(),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime.absolute,
        language=language,
    )


def has_ended(session: Session, now: datetime, lifetime: Lifetime) -> bool:
    return now >= session.expires_at or now - session.last_seen_at >= lifetime.idle


# Ended sessions stay this long before the clean-up deletes them: a cookie that comes
# back meanwhile still finds its session ended and is cleared. (A cookie naming no
# session is left alone: after a login rotates the id, another tab's request with the
# old cookie must not clear the new one.)
PURGE_GRACE = timedelta(minutes=10)


def purge_cutoffs(now: datetime, lifetime: Lifetime) -> tuple[datetime, datetime]:
    """(expired before, last seen before): the sessions the clean-up may delete now."""
    return now - PURGE_GRACE, now - lifetime.idle - PURGE_GRACE


def needs_touch(session: Session, now: datetime) -> bool:
    return now - session.last_seen_at >= TOUCH_INTERVAL


def needs_refresh(tokens: Tokens, now: datetime) -> bool:
    return tokens.access_expires_at - now <= REFRESH_MARGIN
