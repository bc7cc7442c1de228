"""Matching a registration against the customer master data."""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
# Hyphens and dashes of every keyboard and word processor, and the underscore: in a
# name they all separate its parts as a space does ("Schmidt-Öztürk", "Schmidt Öztürk").
_SEPARATORS = re.compile(r"[\s\-_\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d]+")
_APOSTROPHES = re.compile(r"[\u2018\u2019\u201b\u02bc\u00b4`]")
# German (and Nordic) letters as written without them (ICAO 9303, as in passports):
# after case-folding, so "Ä" is covered by "ä" and "ß"/"ẞ" are already "ss".
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe", "æ": "ae", "œ": "oe"})


def normalise_key(value: str) -> str:
    """Trimmed, NFKC-normalised, case-folded, inner whitespace collapsed.

    Customers type "  müller", "MÜLLER" or a decomposed "mu\u0308ller"; all mean the same.
    """
    folded = unicodedata.normalize("NFKC", value).casefold()
    return _WHITESPACE.sub(" ", folded).strip()


def normalise_customer_number(value: str) -> str:
    return normalise_key(value).replace(" ", "")


def name_key(value: str) -> str:
    """A last name as compared: what any keyboard can type for it.

    Case-folded (ß → ss), umlauts transliterated (ä → ae, ö → oe, ü → ue), other accents
    dropped (é → e: the usual spelling without them), hyphens, dashes and runs of spaces
    made one space, typographic apostrophes made "'".
    """
    folded = normalise_key(value).translate(_TRANSLITERATION)
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c)
    )
    plain = _APOSTROPHES.sub("'", plain)
    return _SEPARATORS.sub(" ", plain).strip()


def last_name_matches(on_file: str, entered: str) -> bool:
    """Whether the typed last name is the one on file, as customers type it anywhere.

    "Müller" = "MUELLER", "Schmidt-Öztürk" = "schmidt oeztuerk", "Weiß" = "Weiss";
    but "Müller" ≠ "Muller" (dropping the umlaut is a different name) and nothing
    matches an empty entry.
    """
    expected = name_key(on_file)
    return bool(expected) and expected == name_key(entered)


REGISTRATION_CODE = re.compile(r"^[A-Z0-9]{8,64}$")
_CODE_SEPARATORS = re.compile(r"[\s\-_.\u2010\u2011\u2012\u2013\u2014\u2212]+")


def normalise_registration_code(value: str) -> str:
    """A code from a letter as compared: upper case, without spaces, dashes or dots
    ("abcd-efgh 2345" = "ABCDEFGH2345"), whatever the keyboard's width or case."""
    return _CODE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()


def is_registration_code(normalised: str) -> bool:
    """8 to 64 ASCII letters and digits: enough to resist guessing (attempts per
    customer number are limited) and short enough to type from a letter."""
    return REGISTRATION_CODE.match(normalised) is not None
