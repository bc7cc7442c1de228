"""Events to mails: subject, plain text and HTML in the recipient's language.

`render_mail` is pure (event and context in, text out), so every wording and escaping
rule is testable without a broker or an SMTP server. Customer-facing wording lives only
in `templates/`: `<template>.<locale>.txt` sets the subject and is the plain-text part,
`<template>.<locale>.html` the HTML part (autoescaped, as payload fields are user input);
`parts/` holds what the mails share. The wording follows the customer's FAQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol, cast
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from portal_mailer.config import MailerSettings
from portal_shared.events import Event, RegistrationCreated, ResetRequested


@dataclass(frozen=True)
class MailKind:
    template: str
    path: str
    token_field: str


MAIL_KINDS: dict[str, MailKind] = {
    RegistrationCreated.event_type: MailKind("activation", "/aktivieren", "activation_token"),
    ResetRequested.event_type: MailKind(
        "password-reset", "/passwort-zuruecksetzen", "reset_token"
    ),
}


class MailPayload(Protocol):
    """The fields every mailed payload has."""

    email: str
    last_name: str
    locale: str
    expires_at: datetime


def template_for(event_type: str) -> str:
    """The template name used in logs and metrics; 'none' for events that are not mailed."""
    kind = MAIL_KINDS.get(event_type)
    return kind.template if kind is not None else "none"


@dataclass(frozen=True)
class MailContext:
    """What rendering needs besides the event."""

    portal_base_url: str
    support_email: str
    timezone: ZoneInfo

    @classmethod
    def from_settings(cls, settings: MailerSettings) -> MailContext:
        return cls(
            str(settings.portal_base_url), settings.support_email, ZoneInfo(settings.mail_timezone)
        )


@dataclass(frozen=True)
class RenderedMail:
    template: str
    locale: str
    to: str
    subject: str
    text: str
    html: str


class NotMailable(ValueError):
    """The event is valid but no mail belongs to it."""


_environment = Environment(
    loader=PackageLoader("portal_mailer", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_mail(event: Event, context: MailContext) -> RenderedMail:
    kind = MAIL_KINDS.get(event.envelope.event_type)
    if kind is None:
        raise NotMailable(f"no mail for {event.envelope.event_type}")
    payload = cast(MailPayload, event.payload)
    token: str = getattr(payload, kind.token_field)
    values = {
        "last_name": payload.last_name,
        "link": portal_link(context.portal_base_url, kind.path, token),
        "expires": format_expiry(payload.expires_at, context.timezone, payload.locale),
        "validity": format_validity(event.envelope.occurred_at, payload.expires_at, payload.locale),
        "support_email": context.support_email,
    }
    name = f"{kind.template}.{payload.locale}"
    text = _environment.get_template(f"{name}.txt").make_module(values)
    subject = str(text.subject).strip()
    html = _environment.get_template(f"{name}.html").render(
        values, subject=subject, locale=payload.locale
    )
    return RenderedMail(kind.template, payload.locale, payload.email, subject, str(text), html)


def portal_link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}?token={quote(token, safe='')}"


_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def format_expiry(moment: datetime, timezone: ZoneInfo, locale: str) -> str:
    local = moment.astimezone(timezone)
    if locale == "de":
        return f"{local:%d.%m.%Y}, {local:%H:%M} Uhr"
    return f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year}, {local:%H:%M} {local.tzname()}"


# A token's lifetime is stated only when the event's timestamps make it plausible: the
# issuing service may run on a test clock, and a wrong "24 hours" is worse than none.
_PLAUSIBLE_VALIDITY = (timedelta(minutes=1), timedelta(days=31))


def format_validity(issued_at: datetime, expires_at: datetime, locale: str) -> str | None:
    lifetime = expires_at - issued_at
    if not _PLAUSIBLE_VALIDITY[0] <= lifetime <= _PLAUSIBLE_VALIDITY[1]:
        return None
    minutes = round(lifetime.total_seconds() / 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        unit = ("Stunde", "Stunden") if locale == "de" else ("hour", "hours")
        return f"{hours} {unit[hours != 1]}"
    unit = ("Minute", "Minuten") if locale == "de" else ("minute", "minutes")
    return f"{minutes} {unit[minutes != 1]}"


def build_message(mail: RenderedMail, mail_from: str, now: datetime) -> EmailMessage:
    """The MIME message: multipart/alternative, and no header beyond what delivery needs."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender_domain(mail_from))
    # Asks mail servers not to send out-of-office answers to a no-reply address.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    # After the body: set_content drops any Content-* header set before it.
    message["Content-Language"] = mail.locale
    return message


def sender_domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
