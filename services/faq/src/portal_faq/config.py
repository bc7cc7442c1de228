"""FAQ service settings, read from the environment."""

from __future__ import annotations

from pydantic import Field

from portal_shared.settings import DEFAULT_DATABASE_URL, CommonSettings, load_settings

SCHEMA = "faq"


class FaqSettings(CommonSettings):
    faq_database_url: str = Field(DEFAULT_DATABASE_URL, pattern=r"^postgres(ql)?://")
    faq_port: int = Field(8082, ge=1, le=65535)


def get_settings(**overrides: object) -> FaqSettings:
    return load_settings(FaqSettings, "portal-faq", **overrides)
