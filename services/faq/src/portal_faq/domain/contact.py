"""Rules of the contact form: what a valid submission is and how often one may send."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from portal_shared.email_address import MAX_LENGTH as MAX_EMAIL_LENGTH  # noqa: F401 - the schema limit
from portal_shared.email_address import InvalidAddress, accept
from portal_shared.ratelimit import Limit

# Name and subject end up in mail headers: a line break there could add headers.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
# "=?" opens an RFC 2047 encoded word, which mail programs decode in headers: a name
# like "=?utf-8?q?Chef=0D=0ABcc=3A_x=40evil?=" would read as a line break and a header.
_ENCODED_WORD = "=?"
# The message may have line breaks and tabs, but no other control characters.
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_valid_email(address: str) -> bool:
    """Well-formed and mailable (see `normalise_email`)."""
    try:
        accept(address)
    except InvalidAddress:
        return False
    return True


def normalise_email(address: str) -> str:
    """The address as stored and mailed to (domain in lower-case Unicode; the mailer
    sends it as punycode). Raises InvalidAddress, or UnsupportedAddress (code
    `email_not_supported`) for a local part that is not ASCII: no link or receipt could
    reach it."""
    return accept(address).normalized


def is_single_line(text: str) -> bool:
    return _CONTROL.search(text) is None


def is_plain_name(text: str) -> bool:
    """A name that is safe as a header's display name: one line, no encoded word."""
    return is_single_line(text) and _ENCODED_WORD not in text


def is_clean_text(text: str) -> bool:
    return _CONTROL_EXCEPT_LINES.search(text) is None


def clean(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


def contact_limit(per_hour: int) -> Limit:
    """Accepted submissions per client address; each sends two mails."""
    return Limit("contact", per_hour, timedelta(hours=1))
