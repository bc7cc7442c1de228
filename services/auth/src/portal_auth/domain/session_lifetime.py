"""How long a login lasts: every refresh extends it, but never past an absolute end
counted from the login itself (SESSION_MAX_AGE_DAYS)."""

from __future__ import annotations

from datetime import datetime, timedelta


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
