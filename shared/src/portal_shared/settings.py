"""Settings every service reads, and the one way to load them.

Each service's `config.py` subclasses `CommonSettings`. Field names are the environment
variable names (upper-cased by the environment, matched case-insensitively).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network, IPv6Network
from typing import Literal, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from portal_shared.topology import EVENTS_EXCHANGE

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/portal"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"



class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, validate_default=True)

    amqp_url: str = Field(DEFAULT_AMQP_URL, pattern=r"^amqps?://")
    events_exchange: str = Field(EVENTS_EXCHANGE, min_length=1)
    bind_host: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Proxies (CIDRs) whose X-Forwarded-For is believed when rate limiting by client IP.
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(default_factory=list)


S = TypeVar("S", bound=BaseSettings)


class ConfigurationError(SystemExit):
    """Raised at start-up with one line that names the offending variable."""


def load_settings(cls: type[S], program: str, **overrides: object) -> S:
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(f"{program}: configuration error: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        variable = "_".join(str(p) for p in err["loc"]).upper() or "<settings>"
        parts.append(f"{variable}{_shown_value(variable, err.get('input'))}: {err['msg']}")
    return "; ".join(parts)


_SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN")
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@]*@")


def _shown_value(variable: str, value: object) -> str:
    """The offending value for the error line, never a secret."""
    if not isinstance(value, str | int | float) or _SECRET_NAME.search(variable):
        return ""
    return "=" + repr(_URL_CREDENTIALS.sub("***@", str(value)))
