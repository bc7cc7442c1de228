"""Settings every service reads, and the one way to load them.

Each service's `config.py` subclasses `CommonSettings`. Field names are the environment
variable names (upper-cased by the environment, matched case-insensitively).
"""

from __future__ import annotations

import json
import os
import re
from ipaddress import IPv4Network, IPv6Address, IPv6Network
from typing import Annotated, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from portal_shared.topology import EVENTS_EXCHANGE

EventLoop = Literal["uvloop", "asyncio"]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/portal"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"



class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, validate_default=True)

    amqp_url: str = Field(DEFAULT_AMQP_URL, pattern=r"^amqps?://")
    events_exchange: str = Field(EVENTS_EXCHANGE, min_length=1)
    bind_host: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # The event loop `serve` runs on. The standard library's: uvloop showed no gain that
    # held from one run to the next for any service (bench/README.md, "uvloop and
    # orjson"); `uvloop` stays selectable to measure again on other machines.
    event_loop: EventLoop = "asyncio"
    # Proxies (CIDRs) whose X-Forwarded-For is believed when rate limiting by client IP.
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    # Browser origins (`https://host[:port]`) allowed to call the HTTP APIs directly
    # (CORS): a JSON list or comma-separated. Empty: no CORS headers at all.
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _parse_cors_allowed_origins(cls, value: object) -> list[str]:
        return parse_origins(value)


_ORIGIN = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origins(value: object) -> list[str]:
    """CORS origins from a JSON list, a comma-separated string or a list, each checked
    and written the way browsers send the `Origin` header (lower case, no default port)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ValueError("not a valid JSON list of origins") from None
        else:
            value = [part for part in (p.strip() for p in text.split(",")) if part]
    if not isinstance(value, list | tuple) or not all(isinstance(o, str) for o in value):
        raise ValueError("expected a list of origins such as [\"https://app.example.de\"]")
    origins: list[str] = []
    for origin in value:
        normalised = normalise_origin(origin)
        if normalised not in origins:
            origins.append(normalised)
    return origins


def normalise_origin(origin: str) -> str:
    """`scheme://host[:port]` in the form a browser sends it; ValueError for anything
    else: `*`, `null`, a path (even a lone trailing slash), a query, user info."""
    text = origin.strip()
    if text == "*":
        raise ValueError("'*' would let every website call the API; list the exact origins")
    match = _ORIGIN.fullmatch(text.lower())
    if match is None:
        raise ValueError(
            f"CORS origin {text!r} is not http(s)://host[:port] (no path, no trailing slash)"
        )
    scheme, host, port = match["scheme"], match["host"], match["port"]
    if host.startswith("["):
        try:
            host = f"[{IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            raise ValueError(f"CORS origin {text!r} has no valid IPv6 address") from None
    if port is None or int(port) == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"CORS origin {text!r} has no valid port")
    return f"{scheme}://{host}:{int(port)}"


S = TypeVar("S", bound=BaseSettings)


class ConfigurationError(SystemExit):
    """Raised at start-up with one line that names the offending variable."""


def load_settings(cls: type[S], program: str, **overrides: object) -> S:
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(f"{program}: configuration error: {describe(exc)}") from None
    except SettingsError as exc:  # a list or object variable that is not JSON
        raise ConfigurationError(f"{program}: configuration error: {describe_unparsed(exc)}") from None


def describe(exc: ValidationError) -> str:
    """`VARIABLE='value': what is wrong`, one part per variable and value. The variable
    is the field's name (an entry of a list: `NAME[i]`), never the validator's path
    inside it; the alternatives of a union share one part."""
    parts: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = err["loc"]
        variable = str(loc[0]).upper() if loc else "<settings>"
        if len(loc) > 1 and isinstance(loc[1], int):
            variable += f"[{loc[1]}]"
        shown = _shown_value(variable, err.get("input"))
        messages = parts.setdefault(f"{variable}{shown}", [])
        if err["msg"] not in messages:
            messages.append(err["msg"])
    return "; ".join(f"{where}: {' or '.join(messages)}" for where, messages in parts.items())


_UNPARSED_FIELD = re.compile(r'field "(?P<field>[^"]+)"')


def describe_unparsed(exc: SettingsError) -> str:
    """pydantic-settings could not decode a variable's value as JSON."""
    match = _UNPARSED_FIELD.search(str(exc))
    if match is None:
        return str(exc)
    variable = match["field"].upper()
    value = next((v for k, v in os.environ.items() if k.upper() == variable), None)
    shown = _shown_value(variable, value) if value is not None else ""
    return f"{variable}{shown}: not valid JSON (write a JSON list, e.g. [\"…\"])"


_SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN")
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@]*@")


def _shown_value(variable: str, value: object) -> str:
    """The offending value for the error line, never a secret."""
    if not isinstance(value, str | int | float) or _SECRET_NAME.search(variable):
        return ""
    return "=" + repr(_URL_CREDENTIALS.sub("***@", str(value)))
