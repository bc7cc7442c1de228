"""Planned mails to text: subject, plain text and HTML, and the MIME message (pure).

Customer-facing wording lives only in `templates/`: `<template>.<locale>.txt` sets the
subject and is the plain-text part, `<template>.<locale>.html` the HTML part
(autoescaped, as payload fields are user input); `parts/` holds what the mails share.
What the templates show comes formatted already (`domain.formatting`, by `domain.mails`).
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
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

    The mailer sends `mime_bytes`, which writes the same bytes directly; this is the
    reference it is tested against, and what tests read headers from.
    """
    message = MIMEMultipart("alternative", boundary=_BOUNDARY)
    for name, value in _headers(mail, mail_from, now, event_id):
        message[name] = value
    message.attach(MIMEText(mail.text, "plain", _UTF8))
    message.attach(MIMEText(mail.html, "html", _UTF8))
    return message


def mime_bytes(mail: RenderedMail, mail_from: str, now: datetime, event_id: UUID) -> bytes:
    """`build_message(...).as_bytes()`, byte for byte, without the email package's
    generator: that took 0.85 ms a mail, most of the mailer's own CPU time per mail
    (bench/README.md, "Mailer"). A header that fits on one line is written as it is (the
    generator leaves it so too); longer and encoded ones are folded by the same policy
    the generator uses; the parts are quoted-printable from binascii's C encoder, which
    wraps and escapes as `email.quoprimime` does (see `_quoted_printable`).
    """
    out = [_MULTIPART_HEADERS]
    for name, value in _headers(mail, mail_from, now, event_id):
        if isinstance(value, Header):
            out.append(_folded_encoded(name, str(value)))
        elif len(name) + 2 + len(value) <= _MAX_LINE:
            out.append(f"{name}: {value}\n")
        elif not _FOLDING_POINT.search(value):
            # Nowhere to break it (a Message-ID): compat32 moves it to a line of its own.
            out.append(f"{name}: \n {value}\n")
        else:
            out.append(compat32.fold_binary(name, value).decode("ascii"))
    out.append(f"\n--{_BOUNDARY}\n{_PART_HEADERS.format(subtype='plain')}")
    out.append(_quoted_printable(mail.text))
    out.append(f"\n--{_BOUNDARY}\n{_PART_HEADERS.format(subtype='html')}")
    out.append(_quoted_printable(mail.html))
    out.append(f"\n--{_BOUNDARY}--\n")
    return "".join(out).encode("ascii")


def _headers(
    mail: RenderedMail, mail_from: str, now: datetime, event_id: UUID
) -> list[tuple[str, str | Header]]:
    """The message's own headers in order, each refused if it holds a line break;
    text that needs it RFC 2047-encoded (address headers come encoded already)."""
    headers = {
        "From": _sender_header(mail_from),
        "To": mailbox_header(mail.to),
        "Reply-To": mailbox_header(mail.reply_to) if mail.reply_to else None,
        "Subject": mail.subject,
        "Date": format_datetime(now),
        "Message-ID": message_id(event_id, mail.template, mail_from),
        # Asks mail servers not to send out-of-office answers to a no-reply address.
        "Auto-Submitted": "auto-generated",
        "Content-Language": mail.locale,
    }
    result: list[tuple[str, str | Header]] = []
    for name, value in headers.items():
        if value is None:
            continue
        if "\r" in value or "\n" in value:
            raise ValueError(f"line break in the {name} header")
        encode = name not in _ADDRESS_HEADERS and _needs_encoding(value)
        result.append((name, Header(value, _UTF8) if encode else value))
    return result


@functools.lru_cache(maxsize=512)
def _folded_encoded(name: str, text: str) -> str:
    """An RFC 2047-encoded header line as compat32 folds it. Folding encoded text costs
    about a millisecond; subjects repeat (one per template and language), so each is
    folded once."""
    return compat32.fold_binary(name, Header(text, _UTF8)).decode("ascii")


# What the email package writes around the parts (see `mime_bytes`).
_MAX_LINE = 78
# Where compat32's header folding may break a line (`email.header.Header`'s splitchars).
_FOLDING_POINT = re.compile(r"[\s;,]")
_MULTIPART_HEADERS = (
    f'Content-Type: multipart/alternative; boundary="{_BOUNDARY}"\nMIME-Version: 1.0\n'
)
_PART_HEADERS = (
    'Content-Type: text/{subtype}; charset="utf-8"\nMIME-Version: 1.0\n'
    "Content-Transfer-Encoding: quoted-printable\n\n"
)
_LINE_BREAK = re.compile(r"\r\n?")
_MAX_QP_LINE = 76
_LONE_DOT = re.compile(r"^=2E$", re.MULTILINE)


def _quoted_printable(text: str) -> str:
    """Quoted-printable as `email.quoprimime.body_encode` writes it: lines end in "\n"
    (a CR, alone or before LF, is a line break there too), and a line holding only a
    dot stays a dot (binascii escapes it for SMTP; aiosmtplib dot-stuffs anyway).

    binascii lets a line that ends in white space grow to 78 characters when it escapes
    that space; RFC 2045 allows 76, so such a text is left to the email package.
    """
    encoded = binascii.b2a_qp(_LINE_BREAK.sub("\n", text).encode(), istext=True).decode("ascii")
    if max(map(len, encoded.split("\n"))) > _MAX_QP_LINE:
        return _UTF8.body_encode(text) if text else text
    return _LONE_DOT.sub(".", encoded)


def _needs_encoding(text: str) -> bool:
    """Non-ASCII text, and text a decoder would take for an encoded word."""
    return not text.isascii() or _ENCODED_WORD in text


def envelope_sender(mail_from: str) -> str:
    """The address for SMTP's MAIL FROM: the one in MAIL_FROM, without the name."""
    return parseaddr(mail_from)[1]


# An address alone, in RFC 5322's dot-atom form, ASCII only: nothing to parse out of it.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)


def mailbox_header(mailbox: str) -> str:
    """'Name <address>' for a header: the address in its ASCII form (an internationalised
    domain as punycode), the name on one line and RFC 2047-encoded when it is not ASCII
    or could itself be read as an encoded word.

    Raises InvalidAddress (a ValueError) for an address no header can carry, including
    UnsupportedAddress for a local part that is not ASCII.
    """
    if _PLAIN_ADDRESS.fullmatch(mailbox):
        # What most recipients are: parseaddr would return it unchanged, with no name.
        return smtp_form(mailbox)
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


# The sender is the same for every mail: its header is made once.
_sender_header = functools.lru_cache(maxsize=4)(mailbox_header)


def message_id(event_id: UUID, template: str, mail_from: str) -> str:
    """The same for every send of one mail of one event: should a mail go out twice
    (see the README on the remaining window), mailbox providers that deduplicate by
    Message-ID show it once."""
    return f"<{event_id}.{template}@{sender_domain(mail_from)}>"


@functools.lru_cache(maxsize=4)
def sender_domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
