"""Rules of the contact form: what a valid submission is and how often one may send."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from portal_shared.ratelimit import Limit

MAX_EMAIL_LENGTH = 254
_ADDRESS = re.compile(
    r"^[^@\s\"(),:;<>\[\\\]]{1,64}@[^@\s\"(),:;<>\[\\\]_]+\.[^@\s\"(),:;<>\[\\\]_.]{2,}$"
)
# Name and subject end up in mail headers: a line break there could add headers.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The message may have line breaks and tabs, but no other control characters.
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_valid_email(address: str) -> bool:
    return (
        len(address) <= MAX_EMAIL_LENGTH
        and _ADDRESS.match(address) is not None
        and ".." not in address
    )


def is_single_line(text: str) -> bool:
    return _CONTROL.search(text) is None


def is_clean_text(text: str) -> bool:
    return _CONTROL_EXCEPT_LINES.search(text) is None


def clean(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


def contact_limit(per_hour: int) -> Limit:
    """Accepted submissions per client address; each sends two mails."""
    return Limit("contact", per_hour, timedelta(hours=1))
