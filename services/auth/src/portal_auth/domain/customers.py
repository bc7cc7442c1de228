"""Matching a registration against the customer master data."""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def normalise_key(value: str) -> str:
    """Trimmed, NFKC-normalised, case-folded, inner whitespace collapsed.

    Customers type "  müller", "MÜLLER" or a decomposed "mu\u0308ller"; all mean the same.
    """
    folded = unicodedata.normalize("NFKC", value).casefold()
    return _WHITESPACE.sub(" ", folded).strip()


def normalise_customer_number(value: str) -> str:
    return normalise_key(value).replace(" ", "")


def last_name_matches(on_file: str, entered: str) -> bool:
    return normalise_key(on_file) == normalise_key(entered)
