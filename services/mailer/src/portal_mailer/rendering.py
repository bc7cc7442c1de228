"""Planned mails to text: subject, plain text and HTML, and the MIME message (pure).

Customer-facing wording lives only in `templates/`: `<template>.<locale>.txt` sets the
subject and is the plain-text part, `<template>.<locale>.html` the HTML part
(autoescaped, as payload fields are user input); `parts/` holds what the mails share.
What the templates show comes formatted already (`domain.formatting`, by `domain.mails`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from uuid import UUID

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from portal_mailer.domain.formatting import display_name, one_line
from portal_mailer.domain.mails import PlannedMail
from portal_shared.email_address import InvalidAddress, smtp_form


@dataclass(frozen=True)
class RenderedMail:
    template: str
    locale: str
    to: str
    reply_to: str | None
    subject: str
    text: str
    html: str


_environment = Environment(
    loader=PackageLoader("portal_mailer", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    # Templates ship inside the package and never change while it runs; without this,
    # every render stats each template file to see whether it changed.
    auto_reload=False,
)


def render(mail: PlannedMail) -> RenderedMail:
    name = f"{mail.template}.{mail.locale}"
    text = _environment.get_template(f"{name}.txt").make_module(dict(mail.values))
    # A subject is one header line, whatever a template or a payload put into it.
    subject = one_line(str(text.subject), 250)
    html = _environment.get_template(f"{name}.html").render(
        mail.values, subject=subject, locale=mail.locale
    )
    return RenderedMail(
        mail.template, mail.locale, mail.to, mail.reply_to, subject, str(text), html
    )


# --- the MIME message ----------------------------------------------------------------


# Quoted-printable keeps mostly-ASCII German text readable in the raw mail and 7-bit safe.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
# For names in address headers: one encoded word, as `email.utils.formataddr` makes them.
_UTF8_HEADER = Charset("utf-8")
_ENCODED_WORD = "=?"
_ADDRESS_HEADERS = frozenset({"From", "To", "Reply-To"})
# A fixed boundary saves a regex compilation per mail (Python's generator checks every
# random boundary against the text). It cannot occur in the parts: "=_" is not valid
# quoted-printable, so an encoded body never contains it.
_BOUNDARY = "=_kundenportal_alternative"


def build_message(mail: RenderedMail, mail_from: str, now: datetime, event_id: UUID) -> Message:
    """The MIME message: multipart/alternative, and no header beyond what delivery needs.

    Built with the email package's compat32 API (`email.mime`): `EmailMessage` parses
    every header it is given, which took 1.6 ms a mail, more than half of the mailer's
    CPU time per mail (bench/mailer_throughput.py). What that parsing guarded against,
    a line break smuggling in another header, is refused here instead; and text that
    mail programs would decode (an RFC 2047 encoded word, "=?…?=", typed by someone) is
    itself encoded, so it reads back as typed and never as a line break.
    """
    message = MIMEMultipart("alternative", boundary=_BOUNDARY)
    headers = {
        "From": mailbox_header(mail_from),
        "To": mailbox_header(mail.to),
        "Reply-To": mailbox_header(mail.reply_to) if mail.reply_to else None,
        "Subject": mail.subject,
        "Date": format_datetime(now),
        "Message-ID": message_id(event_id, mail.template, mail_from),
        # Asks mail servers not to send out-of-office answers to a no-reply address.
        "Auto-Submitted": "auto-generated",
        "Content-Language": mail.locale,
    }
    for name, value in headers.items():
        if value is None:
            continue
        if "\r" in value or "\n" in value:
            raise ValueError(f"line break in the {name} header")
        # Address headers come encoded from `mailbox_header`; the others are text.
        encode = name not in _ADDRESS_HEADERS and _needs_encoding(value)
        message[name] = Header(value, _UTF8) if encode else value
    message.attach(MIMEText(mail.text, "plain", _UTF8))
    message.attach(MIMEText(mail.html, "html", _UTF8))
    return message


def _needs_encoding(text: str) -> bool:
    """Non-ASCII text, and text a decoder would take for an encoded word."""
    return not text.isascii() or _ENCODED_WORD in text


def serialize(message: Message) -> bytes:
    return message.as_bytes()


def envelope_sender(mail_from: str) -> str:
    """The address for SMTP's MAIL FROM: the one in MAIL_FROM, without the name."""
    return parseaddr(mail_from)[1]


def mailbox_header(mailbox: str) -> str:
    """'Name <address>' for a header: the address in its ASCII form (an internationalised
    domain as punycode), the name on one line and RFC 2047-encoded when it is not ASCII
    or could itself be read as an encoded word.

    Raises InvalidAddress (a ValueError) for an address no header can carry, including
    UnsupportedAddress for a local part that is not ASCII.
    """
    if "\r" in mailbox or "\n" in mailbox:
        raise InvalidAddress("not a mail address")
    name, address = parseaddr(mailbox)
    if not address:
        raise InvalidAddress("not a mail address")
    ascii_address = smtp_form(address)
    name = display_name(name)
    if not name:
        return ascii_address
    if _needs_encoding(name):
        # One encoded word, whatever the name holds: decoders decode it once, so a
        # typed "=?…?=" comes out as these characters, never as what they encode.
        return f"{_UTF8_HEADER.header_encode(name)} <{ascii_address}>"
    return formataddr((name, ascii_address))


def message_id(event_id: UUID, template: str, mail_from: str) -> str:
    """The same for every send of one mail of one event: should a mail go out twice
    (see the README on the remaining window), mailbox providers that deduplicate by
    Message-ID show it once."""
    return f"<{event_id}.{template}@{sender_domain(mail_from)}>"


def sender_domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
