"""What a search query means: the checks it must pass, the words to look for, and the
highlighted snippet that may go into a page as HTML."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from portal_shared.ratelimit import Limit

MAX_QUERY_LENGTH = 200
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
# More words than this add nothing to an FAQ search but cost a trigram lookup each.
MAX_WORDS = 12

# Words customers type for what the FAQ calls differently (German has no synonym
# dictionary in PostgreSQL's default set-up). Keys are lower case, as typed.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "kennwort": ("passwort",),
    "kennwörter": ("passwort",),
    "pw": ("passwort",),
    "login": ("einloggen", "anmelden"),
    "anmelden": ("einloggen", "melden"),
    "anmeldung": ("einloggen", "melden"),
    "einloggen": ("anmelden", "melden"),
    "zugangsdaten": ("login", "daten"),
    "logindaten": ("login", "daten"),
    "konto": ("benutzerkonto",),
    "account": ("benutzerkonto",),
    "freischalten": ("aktivieren",),
    "freischaltung": ("aktivierung",),
    "zurücksetzen": ("vergessen",),
    "email": ("mail",),
    "hilfe": ("kontakt",),
    "support": ("kontakt",),
}

# ts_headline marks matches with these; nothing else in a snippet becomes markup.
MARK_START = "\x02"
MARK_END = "\x03"

_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")


class InvalidSearch(ValueError):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class SearchRequest:
    text: str  # as typed, whitespace collapsed: also the cache key
    limit: int


@dataclass(frozen=True)
class Term:
    """A word to look for; `position` groups a typed word with its synonyms, so an entry
    that matches more of what was typed ranks higher."""

    position: int
    word: str


def parse_search(query: str | None, limit: str | None) -> SearchRequest:
    if query is not None and len(query) > MAX_QUERY_LENGTH:
        raise InvalidSearch("q", "too_long")
    text = " ".join(unicodedata.normalize("NFC", query or "").split())
    if not text:
        raise InvalidSearch("q", "required")
    return SearchRequest(text, _parse_limit(limit))


def _parse_limit(limit: str | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    try:
        value = int(limit)
    except ValueError:
        raise InvalidSearch("limit", "not_an_integer") from None
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidSearch("limit", "out_of_range")
    return value


def search_terms(text: str) -> list[Term]:
    """The typed words (lower case, each once), each followed by its synonyms."""
    typed = list(dict.fromkeys(_WORD.findall(text.casefold())))[:MAX_WORDS]
    return [
        Term(position, word)
        for position, typed_word in enumerate(typed)
        for word in (typed_word, *SYNONYMS.get(typed_word, ()))
    ]


def snippet_html(headline: str) -> str:
    """Text from ts_headline (with MARK_START/MARK_END around matches) as HTML whose only
    tags are balanced `<mark>` pairs. The source text was HTML with its tags stripped,
    so entities are decoded first and everything is escaped again."""
    text = _SPACE.sub(" ", html.unescape(headline)).strip()
    parts: list[str] = []
    open_mark = False
    for piece in re.split(f"([{MARK_START}{MARK_END}])", text):
        if piece == MARK_START and not open_mark:
            parts.append("<mark>")
            open_mark = True
        elif piece == MARK_END and open_mark:
            parts.append("</mark>")
            open_mark = False
        elif piece not in (MARK_START, MARK_END):
            parts.append(html.escape(piece))
    if open_mark:
        parts.append("</mark>")
    return "".join(parts)


def search_limit(per_minute: int) -> Limit:
    """Database searches per client address (the in-memory index answers without limit)."""
    return Limit("search", hits=per_minute, window=timedelta(minutes=1))
