"""The customer's password rules (FAQ: "Ihr Passwort muss mindestens …" and the
"Sicherheits-Check" tips made rules).

`violations` returns the ids of the rules a password breaks, in the order of `RULES`, so
a client can show every problem at once. The rules are pure; the list of common
passwords is packaged data, loaded once.
"""

from __future__ import annotations

import gzip
import re
import string
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from itertools import pairwise

MIN_LENGTH = 8
MAX_LENGTH = 256  # well above the 128 characters a passphrase may need; never truncated
SEQUENCE_LENGTH = 3
PERSONAL_MIN_LENGTH = 3  # shorter fragments (initials) would match nearly every password


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
         "Enthält keine numerische und alphabetische Reihenfolge (z.B. ABC, 123)",
         "Contains no numeric or alphabetic sequence (e.g. ABC, 123)"),
    Rule("not_common",
         "Ist kein häufig verwendetes Passwort und kein Wort aus dem Wörterbuch",
         "Is not a commonly used password or a dictionary word"),
    Rule("not_personal",
         "Enthält keinen persönlichen Bezug wie Ihren Namen, Ihre E-Mail-Adresse, "
         "Ihre Kundennummer oder ein Datum (z.B. Geburtstag)",
         "Contains nothing personal such as your name, e-mail address, customer number "
         "or a date (e.g. a birthday)"),
    Rule("max_length", f"Enthält höchstens {MAX_LENGTH} Zeichen",
         f"Contains at most {MAX_LENGTH} characters"),
)
RULE_IDS = tuple(rule.id for rule in RULES)

_SEQUENCE_ALPHABETS = (string.ascii_lowercase, string.digits)
_EDGE_NOISE = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d)(?!\d)")
_DAY_MONTH = re.compile(r"(?<!\d)(0?[1-9]|[12]\d|3[01])[./-](0?[1-9]|1[0-2])(?:[./-]\d{2,4})?(?!\d)")
_DIGIT_RUN = re.compile(r"\d{6,8}")


@dataclass(frozen=True)
class PersonalData:
    """What the customer told us about themselves; a password must not contain it."""

    last_name: str = ""
    email: str = ""
    customer_number: str = ""

    def fragments(self) -> list[str]:
        local_part = self.email.split("@", 1)[0]
        pieces = [self.last_name, local_part, self.customer_number]
        pieces += re.split(r"[\s.\-_+']+", self.last_name) + re.split(r"[.\-_+]+", local_part)
        folded = {normalise(p).casefold().strip() for p in pieces}
        return sorted(p for p in folded if len(p) >= PERSONAL_MIN_LENGTH)


def normalise(password: str) -> str:
    """The form a password is checked and hashed in, so equal-looking input is equal."""
    return unicodedata.normalize("NFKC", password)


def violations(password: str, personal: PersonalData | None = None) -> list[str]:
    password = normalise(password)
    if len(password) > MAX_LENGTH:
        # Alone, and before the other rules: NFKC can turn the 1 024 characters a request
        # may carry into 18 000 (one "\ufdfa" is 18), and the sequence scan over those
        # would hold the event loop for tens of milliseconds per request.
        return ["max_length"]
    broken = set()
    if len(password) < MIN_LENGTH:
        broken.add("min_length")
    if not any(not c.isalnum() for c in password):
        broken.add("special_char")
    if not any(c.isdecimal() for c in password):
        broken.add("digit")
    if not (any(c.isupper() for c in password) and any(c.islower() for c in password)):
        broken.add("upper_and_lower")
    if has_sequence(password):
        broken.add("no_sequence")
    if is_common(password):
        broken.add("not_common")
    if is_personal(password, personal or PersonalData()):
        broken.add("not_personal")
    return [rule for rule in RULE_IDS if rule in broken]


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


def is_common(password: str) -> bool:
    """A listed password, or a listed word dressed up with digits and symbols ("Sommer2024!")."""
    folded = normalise(password).casefold()
    core = _EDGE_NOISE.sub("", folded)
    listed = common_passwords()
    return folded in listed or (len(core) >= 4 and core in listed)


def is_personal(password: str, personal: PersonalData) -> bool:
    folded = normalise(password).casefold()
    if any(fragment in folded for fragment in personal.fragments()):
        return True
    return contains_date(folded)


def contains_date(text: str) -> bool:
    """A year (1900–2099), a day and month (24.12., 1/5/80), or a digit run that reads
    as a date (241280, 24121980, 19801224): what a birthday looks like in a password."""
    if _YEAR.search(text) or _DAY_MONTH.search(text):
        return True
    return any(_reads_as_date(run) for run in _DIGIT_RUN.findall(text))


def _reads_as_date(digits: str) -> bool:
    def day_month(day: str, month: str) -> bool:
        return 1 <= int(day) <= 31 and 1 <= int(month) <= 12

    if len(digits) == 6:
        return day_month(digits[:2], digits[2:4])
    if len(digits) == 8:
        return day_month(digits[:2], digits[2:4]) or day_month(digits[6:], digits[4:6])
    return False


@cache
def common_passwords() -> frozenset[str]:
    data = files("portal_auth.data").joinpath("common-passwords.txt.gz").read_bytes()
    lines = gzip.decompress(data).decode("utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))
