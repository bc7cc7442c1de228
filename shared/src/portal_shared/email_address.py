"""E-mail addresses: which ones the portal accepts, how it stores and compares them, and
the form SMTP gets (pure, no I/O; syntax by `email-validator`, no DNS look-ups).

An address has three forms:
- `normalized`: what is stored and shown — the local part as typed (Unicode NFC), the
  domain in lower case and, for an internationalised domain, in Unicode (`max@müller.de`);
- `ascii`: what SMTP commands and mail headers carry — the domain in punycode
  (`max@xn--mller-kva.de`); None when the local part itself is not ASCII;
- `key`: what two addresses are compared by — `normalized` in lower case, so
  `Max@MÜLLER.de`, `max@müller.de` and `max@xn--mller-kva.de` are one address.

Internationalised domains are accepted (every mail server can reach them through their
punycode form). A local part that is not ASCII (`jörg@example.de`) is well-formed but
not supported: mailing it needs SMTPUTF8 on our relay and on every server after it, and
German mailbox providers mostly do not offer such addresses or take mail for them — a
link sent there would likely be lost without anyone noticing. The APIs refuse it with
`email_not_supported`, so the customer learns it at once and can give another address.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254
MAX_LOCAL_LENGTH = 64  # RFC 5321; email-validator leaves it to the caller


class InvalidAddress(ValueError):
    """Not an e-mail address (field error code `invalid_email`)."""

    code = "invalid_email"


class UnsupportedAddress(InvalidAddress):
    """Well-formed, but the local part is not ASCII (field error code `email_not_supported`)."""

    code = "email_not_supported"


@dataclass(frozen=True)
class MailAddress:
    normalized: str
    ascii: str | None
    key: str


def parse(text: str, *, reachable_only: bool = True) -> MailAddress:
    """Any well-formed address, including one whose local part is not ASCII.

    `reachable_only` refuses what can never be a customer's mailbox: domains without a
    dot and reserved names (`localhost`, `.test`, `.local`, …). The mailer passes False
    for addresses it is configured with (a support address in a test domain).
    """
    try:
        checked = validate_email(
            unicodedata.normalize("NFC", text.strip()),
            check_deliverability=False,
            globally_deliverable=reachable_only,
            test_environment=not reachable_only,
        )
    except EmailNotValidError:
        raise InvalidAddress("not a valid e-mail address") from None
    longest = max(len(checked.normalized), len(checked.ascii_email or ""))
    if longest > MAX_LENGTH or len(checked.local_part) > MAX_LOCAL_LENGTH:
        raise InvalidAddress("too long")
    return MailAddress(checked.normalized, checked.ascii_email, checked.normalized.lower())


def accept(text: str) -> MailAddress:
    """An address a customer may give: well-formed, reachable, and mailable in ASCII."""
    address = parse(text)
    if address.ascii is None:
        raise UnsupportedAddress("the part before the @ is not ASCII")
    return address


def comparison_key(text: str) -> str:
    """The key for anything typed into a login form, valid or not: the same key that
    `parse` gives a valid address, and a plain lower-case form for anything else (such
    text matches no account)."""
    try:
        return parse(text, reachable_only=False).key
    except InvalidAddress:
        return unicodedata.normalize("NFC", text.strip()).lower()


# A plain ASCII address (dot-atom local part, LDH domain labels): already its own SMTP
# form. The mailer converts two or three addresses per mail; this skips the full check
# (tens of microseconds) for all but internationalised and odd ones, and lets an
# operator's relay-local address (`support@intranet`, `no-reply@localhost`) through.
_PLAIN_ASCII = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


def smtp_form(text: str) -> str:
    """The address as SMTP and mail headers carry it (ASCII, punycode domain).

    Raises InvalidAddress or UnsupportedAddress for an address that cannot be mailed
    this way; the mailer gives such a mail up at once instead of retrying it.
    """
    if _PLAIN_ASCII.fullmatch(text) and len(text) <= MAX_LENGTH and text.index("@") <= MAX_LOCAL_LENGTH:
        return text
    address = parse(text, reachable_only=False)
    if address.ascii is None:
        raise UnsupportedAddress("the part before the @ is not ASCII")
    return address.ascii
