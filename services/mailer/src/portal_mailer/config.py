"""Mailer service settings, read from the environment."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, HttpUrl, SecretStr, field_validator

from portal_shared import topology
from portal_shared.settings import DEFAULT_DATABASE_URL, CommonSettings, load_settings

SCHEMA = "mailer"


class MailerSettings(CommonSettings):
    mailer_database_url: str = Field(DEFAULT_DATABASE_URL, pattern=r"^postgres(ql)?://")
    mailer_port: int = Field(8083, ge=1, le=65535)
    smtp_host: str = Field("127.0.0.1", min_length=1)
    smtp_port: int = Field(1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout_seconds: float = Field(15, gt=0, le=300)
    mail_from: str = Field("Kundenportal <no-reply@kundenportal.example>", min_length=3)
    support_email: str = Field("support@kundenportal.example", min_length=3)
    portal_base_url: HttpUrl = HttpUrl("http://localhost:8080")
    mail_timezone: str = "Europe/Berlin"
    mailer_concurrency: int = Field(8, ge=1, le=256)
    mailer_queue: str = Field(topology.MAILER_QUEUE, min_length=1)
    mailer_dead_letter_queue: str = Field(topology.MAILER_DEAD_LETTER_QUEUE, min_length=1)
    dead_letter_exchange: str = Field(topology.DEAD_LETTER_EXCHANGE, min_length=1)

    @field_validator("mail_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known time zone name (e.g. Europe/Berlin)") from None
        return value

    @field_validator("mail_from")
    @classmethod
    def _sender_has_domain(cls, value: str) -> str:
        # The Message-ID domain is taken from the sender address.
        if "@" not in value:
            raise ValueError("must be an address such as 'Kundenportal <no-reply@example.de>'")
        return value


def get_settings(**overrides: object) -> MailerSettings:
    return load_settings(MailerSettings, "portal-mailer", **overrides)
