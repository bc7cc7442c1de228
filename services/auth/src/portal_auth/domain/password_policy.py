"""The customer's password rules (FAQ: "Ihr Passwort muss mindestens …").

`violations` returns the ids of the rules a password breaks, in the order of `RULES`,
so a client can show every problem at once.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass
from itertools import pairwise

MIN_LENGTH = 8
SEQUENCE_LENGTH = 3


@dataclass(frozen=True)
class Rule:
    id: str
    text_de: str
    text_en: str


RULES = (
    Rule("min_length", f"Enthält mindestens {MIN_LENGTH} Zeichen",
         f"Contains at least {MIN_LENGTH} characters"),
    Rule("special_char", "Enthält mindestens ein Sonderzeichen",
         "Contains at least one special character"),
    Rule("digit", "Enthält mindestens eine Ziffer", "Contains at least one digit"),
    Rule("upper_and_lower", "Enthält Groß- und Kleinbuchstaben",
         "Contains upper- and lower-case letters"),
    Rule("no_sequence",
         "Enthält keine numerische und alphabetische Reihenfolge (z. B. ABC, 123)",
         "Contains no numeric or alphabetic sequence (e.g. ABC, 123)"),
)

_SEQUENCE_ALPHABETS = (string.ascii_lowercase, string.digits)


def normalise(password: str) -> str:
    """The form a password is checked and hashed in, so equal-looking input is equal."""
    return unicodedata.normalize("NFKC", password)


def violations(password: str) -> list[str]:
    password = normalise(password)
    broken = []
    if len(password) < MIN_LENGTH:
        broken.append("min_length")
    if not any(not c.isalnum() for c in password):
        broken.append("special_char")
    if not any(c.isdecimal() for c in password):
        broken.append("digit")
    if not (any(c.isupper() for c in password) and any(c.islower() for c in password)):
        broken.append("upper_and_lower")
    if has_sequence(password):
        broken.append("no_sequence")
    return broken


def has_sequence(password: str, length: int = SEQUENCE_LENGTH) -> bool:
    """True when `length` consecutive letters or digits ascend or descend by one (abc, CBA, 987)."""
    lowered = password.lower()
    for start in range(len(lowered) - length + 1):
        window = lowered[start : start + length]
        for alphabet in _SEQUENCE_ALPHABETS:
            if all(c in alphabet for c in window) and _is_run(window):
                return True
    return False


def _is_run(window: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in pairwise(window)}
    return steps == {1} or steps == {-1}
