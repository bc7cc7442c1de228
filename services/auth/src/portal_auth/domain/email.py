"""E-mail addresses as auth uses them: accepted, stored and compared by the shared rules
(`portal_shared.email_address`): internationalised domains yes, a local part that is
not ASCII no (`email_not_supported`), one key per address however it is spelled."""

from __future__ import annotations

import unicodedata

from portal_shared.email_address import (
    MAX_LENGTH,
    InvalidAddress,
    UnsupportedAddress,
    accept,
    comparison_key,
    parse,
)

__all__ = ["MAX_LENGTH", "InvalidAddress", "UnsupportedAddress", "clean", "is_valid", "key",
           "normalise"]


def clean(address: str) -> str:
    return unicodedata.normalize("NFC", address.strip())


def normalise(address: str) -> str:
    """The form auth stores and mails to (domain in lower-case Unicode); raises
    InvalidAddress, or UnsupportedAddress for a local part that is not ASCII."""
    return accept(address).normalized


def is_valid(address: str) -> bool:
    """Well-formed (including addresses `normalise` refuses as not supported)."""
    try:
        parse(address)
    except InvalidAddress:
        return False
    return True


def key(address: str) -> str:
    """Addresses are compared case-insensitively as a whole (what customers expect), and
    an internationalised domain in any spelling (Unicode or punycode) is one domain.

    `lower`, not `casefold`: case-folding maps ß to ss and would make different
    addresses (straße.de, strasse.de) one.
    """
    return comparison_key(address)
