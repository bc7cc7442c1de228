"""Auth's session rules (pure): the absolute end of a login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal_auth.domain import session_lifetime

LOGIN = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
MAX_AGE = timedelta(days=90)
TTL = timedelta(days=30)


def test_a_refresh_early_in_the_session_lasts_the_usual_time() -> None:
    now = LOGIN + timedelta(days=10)
    assert session_lifetime.refresh_expiry(now, LOGIN, TTL, MAX_AGE) == now + TTL


def test_a_refresh_near_the_end_lasts_only_until_the_end() -> None:
    now = LOGIN + timedelta(days=80)
    assert session_lifetime.refresh_expiry(now, LOGIN, TTL, MAX_AGE) == LOGIN + MAX_AGE


def test_the_session_ends_exactly_at_its_maximum_age() -> None:
    assert not session_lifetime.has_ended(LOGIN, LOGIN + MAX_AGE - timedelta(seconds=1), MAX_AGE)
    assert session_lifetime.has_ended(LOGIN, LOGIN + MAX_AGE, MAX_AGE)
    assert session_lifetime.ends_at(LOGIN, MAX_AGE) == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
