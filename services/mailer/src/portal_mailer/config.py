"""Mailer service settings, read from the environment."""

from __future__ import annotations

import json
import socket
from email.utils import parseaddr
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, FilePath, HttpUrl, SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from portal_shared import topology
from portal_shared.email_address import InvalidAddress, smtp_form
from portal_shared.settings import DEFAULT_DATABASE_URL, CommonSettings, load_settings

SCHEMA = "mailer"
MAX_RETRY_QUEUES = 10


class MailerSettings(CommonSettings):
    mailer_database_url: str = Field(DEFAULT_DATABASE_URL, pattern=r"^postgres(ql)?://")
    mailer_port: int = Field(8083, ge=1, le=65535)
    smtp_host: str = Field("127.0.0.1", min_length=1)
    smtp_port: int = Field(1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout_seconds: float = Field(15, gt=0, le=300)
    # CA certificates (PEM) to verify the SMTP server with, for relays whose certificate
    # a private CA signed; unset: the system's trusted CAs.
    smtp_ca_file: FilePath | None = None
    mail_from: str = Field("Kundenportal <no-reply@kundenportal.example>", min_length=3)
    support_email: str = Field("support@kundenportal.example", min_length=3)
    # The name we give in EHLO. Strict relays refuse one that is not fully qualified
    # ("504 5.5.2 need fully-qualified hostname"), and a container's own name seldom is.
    # Unset: the host's FQDN, or the MAIL_FROM domain when that is not qualified.
    smtp_ehlo_name: str = Field(
        "", validate_default=True, pattern=r"^[A-Za-z0-9.\-\[\]:]*$", max_length=255
    )
    portal_base_url: HttpUrl = HttpUrl("http://localhost:8080")
    mail_timezone: str = "Europe/Berlin"
    mailer_concurrency: int = Field(8, ge=1, le=256)
    # Transient failures (SMTP 4xx, unreachable server or database) are retried this many
    # times in all, first try included; then the message is dead-lettered.
    mailer_max_attempts: int = Field(6, ge=1, le=100)
    # The pause before each retry (the last one repeats); each value is a delay queue.
    # Five times longer each time: a blip is retried in seconds, an outage gets an hour.
    mailer_retry_delays_seconds: Annotated[tuple[float, ...], NoDecode] = (5, 25, 125, 625, 3125)
    mailer_queue: str = Field(topology.MAILER_QUEUE, min_length=1)
    mailer_dead_letter_queue: str = Field(topology.MAILER_DEAD_LETTER_QUEUE, min_length=1)
    dead_letter_exchange: str = Field(topology.DEAD_LETTER_EXCHANGE, min_length=1)
    # Members of each quorum queue, fixed when the queue is created; RabbitMQ places
    # fewer on a smaller cluster (one on a single node), so 3 fits one node and three.
    amqp_quorum_replicas: int = Field(3, ge=1, le=255)

    @field_validator("mail_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known time zone name (e.g. Europe/Berlin)") from None
        return value

    @field_validator("mailer_retry_delays_seconds", mode="before")
    @classmethod
    def _delays_from_text(cls, value: object) -> object:
        # "5,25,125" reads better in a compose file than JSON; both are accepted.
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [p for p in text.split(",") if p.strip()]
        return value

    @field_validator("mailer_retry_delays_seconds")
    @classmethod
    def _usable_delays(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            raise ValueError("needs at least one delay, e.g. 5,25,125")
        if any(not 0.01 <= delay <= 86400 for delay in value):
            raise ValueError("each delay must be between 0.01 and 86400 seconds")
        if len(set(value)) > MAX_RETRY_QUEUES:
            raise ValueError(f"at most {MAX_RETRY_QUEUES} different delays (one queue each)")
        return value

    @field_validator("mail_from")
    @classmethod
    def _sender_has_domain(cls, value: str) -> str:
        # The Message-ID domain is taken from the sender address.
        _, address = parseaddr(value)
        if "@" not in value or not _mailable(address):
            raise ValueError("must be an address such as 'Kundenportal <no-reply@example.de>'")
        return value

    @field_validator("smtp_ehlo_name")
    @classmethod
    def _ehlo_name_defaults_to_a_qualified_one(cls, value: str, info: ValidationInfo) -> str:
        if value:
            return value
        # mail_from is declared (so validated) before; absent here only when invalid.
        return default_ehlo_name(socket.getfqdn(), info.data.get("mail_from", ""))

    @field_validator("support_email")
    @classmethod
    def _support_is_mailable(cls, value: str) -> str:
        # Every contact request is mailed there: refuse at start what no mail could reach.
        if not _mailable(value):
            raise ValueError("must be an address in ASCII before the @, e.g. support@example.de")
        return value


def default_ehlo_name(host_fqdn: str, mail_from: str) -> str:
    """The host's name when it is fully qualified, else the domain we send from: a name
    a relay checking the EHLO syntax accepts, and one SPF/PTR checks can relate to us."""
    if fully_qualified(host_fqdn):
        return host_fqdn.lower()
    _, address = parseaddr(mail_from)
    return address.rpartition("@")[2].lower() or "localhost"


def fully_qualified(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    return len(labels) >= 2 and all(labels) and name.lower() not in NOT_QUALIFIED_NAMES


# What getfqdn() answers on hosts (and in containers) without a real name.
NOT_QUALIFIED_NAMES = {"localhost.localdomain", "localhost.localdomain6", "ip6-localhost"}


def _mailable(address: str) -> bool:
    try:
        smtp_form(address)
    except InvalidAddress:
        return False
    return True


def get_settings(**overrides: object) -> MailerSettings:
    return load_settings(MailerSettings, "portal-mailer", **overrides)
