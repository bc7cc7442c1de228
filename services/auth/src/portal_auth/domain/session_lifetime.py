"""How long a login lasts: every refresh extends it, but never past an absolute end
counted from the login itself (SESSION_MAX_AGE_DAYS)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from portal_auth.domain.tokens import is_expired


def ends_at(logged_in_at: datetime, max_age: timedelta) -> datetime:
    """The moment a session ends whatever the refreshes."""
    return logged_in_at + max_age


def has_ended(logged_in_at: datetime, now: datetime, max_age: timedelta) -> bool:
    return now >= ends_at(logged_in_at, max_age)


def refresh_expiry(
    now: datetime, logged_in_at: datetime, refresh_ttl: timedelta, max_age: timedelta
) -> datetime:
    """A new refresh token lasts its usual time, but not beyond the session's end."""
    return min(now + refresh_ttl, ends_at(logged_in_at, max_age))


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A stored refresh token with what its session says about it."""

    session_id: UUID
    account_id: UUID
    expires_at: datetime
    used_at: datetime | None
    ended_at: datetime | None  # the session's end (logout, reuse, password change)
    logged_in_at: datetime


class RefreshOutcome(enum.Enum):
    INVALID = "invalid"  # unknown, expired, or its session has ended
    REUSED = "reused"  # spent before: copied, so its whole session ends
    ROTATE = "rotate"  # spend it and issue the next one in the same session


def refresh_outcome(token: RefreshToken | None, now: datetime, max_age: timedelta) -> RefreshOutcome:
    if (
        token is None or token.ended_at is not None or is_expired(token.expires_at, now)
        or has_ended(token.logged_in_at, now, max_age)
    ):
        return RefreshOutcome.INVALID
    return RefreshOutcome.REUSED if token.used_at is not None else RefreshOutcome.ROTATE
