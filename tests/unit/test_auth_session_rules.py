"""Auth's session rules (pure): the absolute end of a login, and what the customer's
list of devices shows of each session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal_auth.domain import devices, session_lifetime

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


# --- what the list of devices shows -------------------------------------------------

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.5 Safari/605.1.15")
EDGE_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0")
HEADLESS = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/126.0.0.0 Safari/537.36")


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (FIREFOX_WINDOWS, "Firefox (Windows)"),
        (CHROME_ANDROID, "Chrome (Android)"),
        (SAFARI_IPHONE, "Safari (iPhone)"),
        (SAFARI_MAC, "Safari (macOS)"),
        (EDGE_WINDOWS, "Edge (Windows)"),
        (HEADLESS, "Chrome (Linux)"),
        ("Python/3.11 aiohttp/3.14.5", "Python/3.11 aiohttp/3.14.5"),
        ("x" * 100, "x" * 59 + "…"),
        ("  Kaputt\n\tAgent  ", "Kaputt Agent"),
        ("", ""),
    ],
)
def test_the_device_is_browser_and_system_or_the_agent_shortened(agent: str, label: str) -> None:
    assert devices.device_label(agent) == label


@pytest.mark.parametrize(
    ("address", "place"),
    [
        ("203.0.113.57", "203.0.113.*"),
        ("::ffff:198.51.100.7", "198.51.100.*"),
        ("2001:db8:85a3:1234::1", "2001:db8:85a3:*"),
        ("2001:0db8:0000:0000::1", "2001:db8:0:*"),
        ("unknown", ""),
        ("", ""),
    ],
)
def test_the_place_is_the_address_without_its_last_part(address: str, place: str) -> None:
    assert devices.coarse_place(address) == place
