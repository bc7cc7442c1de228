"""E-mail addresses: a pragmatic syntax check and the case-insensitive key."""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 254
_ADDRESS = re.compile(r"^[^@\s\"(),:;<>\[\\\]]{1,64}@[^@\s\"(),:;<>\[\\\]_]+\.[^@\s\"(),:;<>\[\\\]_.]{2,}$")


def clean(address: str) -> str:
    return unicodedata.normalize("NFC", address.strip())


def is_valid(address: str) -> bool:
    address = clean(address)
    return len(address) <= MAX_LENGTH and _ADDRESS.match(address) is not None and ".." not in address


def key(address: str) -> str:
    """Addresses are compared case-insensitively as a whole (what customers expect).

    `lower`, not `casefold`: case-folding maps ß to ss and would make different
    addresses (straße.de, strasse.de) one.
    """
    return clean(address).lower()
