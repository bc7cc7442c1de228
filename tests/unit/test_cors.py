"""CORS_ALLOWED_ORIGINS: exact browser origins, checked when the service starts."""

from __future__ import annotations

import pytest

from portal_auth.config import AuthSettings
from portal_faq.config import FaqSettings
from portal_shared.settings import ConfigurationError, load_settings


@pytest.fixture(autouse=True)
def _no_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)


def test_the_default_is_no_origin_at_all() -> None:
    assert load_settings(AuthSettings, "portal-auth").cors_allowed_origins == []
    assert load_settings(FaqSettings, "portal-faq").cors_allowed_origins == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["https://app.example.de"]', ["https://app.example.de"]),
        (
            '["https://app.example.de", "http://localhost:3000"]',
            ["https://app.example.de", "http://localhost:3000"],
        ),
        (
            "https://app.example.de, http://localhost:3000",
            ["https://app.example.de", "http://localhost:3000"],
        ),
        ("https://app.example.de", ["https://app.example.de"]),
        ("[]", []),
        ("", []),
        # Written as the browser sends the Origin header, so that an exact match works.
        ('["HTTPS://App.Example.DE"]', ["https://app.example.de"]),
        (
            '["https://app.example.de:443", "http://app.example.de:80"]',
            ["https://app.example.de", "http://app.example.de"],
        ),
        ('["https://app.example.de:8443"]', ["https://app.example.de:8443"]),
        ('["http://[0:0::1]:3000"]', ["http://[::1]:3000"]),
        ('["https://app.example.de", "https://app.example.de"]', ["https://app.example.de"]),
    ],
)
def test_origins_are_read_from_a_json_list_or_a_comma_separated_string(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", value)
    assert load_settings(FaqSettings, "portal-faq").cors_allowed_origins == expected
    assert load_settings(AuthSettings, "portal-auth").cors_allowed_origins == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("*", "every website"),
        ('["*"]', "every website"),
        ('["https://app.example.de", "*"]', "every website"),
        ('["https://app.example.de/"]', "no trailing slash"),
        ('["https://app.example.de/portal"]', "no path"),
        ("https://app.example.de/", "no trailing slash"),
        ('["https://app.example.de?x=1"]', "no path"),
        ('["https://app.example.de#top"]', "no path"),
        ('["https://user@app.example.de"]', "host"),
        ('["app.example.de"]', "http(s)://"),
        ('["ftp://app.example.de"]', "http(s)://"),
        ('["null"]', "http(s)://"),
        ('["https://*.example.de"]', "http(s)://"),
        ('["https://"]', "http(s)://"),
        ('["https://app.example.de:0"]', "port"),
        ('["https://app.example.de:70000"]', "port"),
        ('["http://[::g]"]', "http(s)://"),
        ('["http://[:::]"]', "IPv6"),
        ('["https://app.example.de"', "JSON"),
        ("[1]", "list of origins"),
        ('{"origin": "https://app.example.de"}', "http(s)://"),
    ],
)
def test_a_wrong_origin_stops_the_service_with_one_line(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", value)
    with pytest.raises(ConfigurationError) as error:
        load_settings(FaqSettings, "portal-faq")
    message = str(error.value.code)
    assert message.startswith("portal-faq: configuration error: CORS_ALLOWED_ORIGINS=")
    assert reason in message
    assert "\n" not in message


def test_origins_given_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigurationError, match="every website"):
        load_settings(AuthSettings, "portal-auth", cors_allowed_origins=["*"])
    settings = load_settings(
        AuthSettings, "portal-auth", cors_allowed_origins=("https://A.example.de",)
    )
    assert settings.cors_allowed_origins == ["https://a.example.de"]
