"""Portal settings, read from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, HttpUrl

from portal_shared.settings import DEFAULT_DATABASE_URL, CommonSettings, load_settings

SCHEMA = "portal"


class PortalSettings(CommonSettings):
    portal_database_url: str = Field(DEFAULT_DATABASE_URL, pattern=r"^postgres(ql)?://")
    portal_port: int = Field(8080, ge=1, le=65535)
    # Where customers reach the portal (the links in mails lead here). `https://` turns on
    # the `__Host-` cookie prefix, the Secure flag and HSTS.
    portal_base_url: HttpUrl = HttpUrl("http://localhost:8080")
    # The APIs the portal's server side calls (never the browser).
    auth_api_url: HttpUrl = HttpUrl("http://127.0.0.1:8081")
    faq_api_url: HttpUrl = HttpUrl("http://127.0.0.1:8082")
    upstream_timeout_seconds: float = Field(10.0, gt=0, le=120)
    # A session ends after this long without a request, and in any case after the maximum.
    portal_session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    portal_session_max_hours: int = Field(12, ge=1, le=24 * 30)
    # Operator-replaceable texts (impressum, datenschutz, nutzungsbedingungen as
    # `<name>.<de|en>.md`); unset: the packaged placeholders.
    portal_content_dir: Path | None = None
    # FAQ entries shown on the start page ("häufig gefragt"), in this order.
    portal_top_faq: list[str] = Field(
        default_factory=lambda: [
            "registrieren", "aktivierungslink-abgelaufen", "passwort-vergessen", "einloggen",
        ]
    )
    # Same names and defaults as in the auth service, so one environment serves both.
    terms_version: str = Field("2026-01", min_length=1, max_length=40)
    privacy_version: str = Field("2026-01", min_length=1, max_length=40)

    @property
    def secure(self) -> bool:
        return self.portal_base_url.scheme == "https"


def get_settings(**overrides: object) -> PortalSettings:
    return load_settings(PortalSettings, "portal-web", **overrides)
