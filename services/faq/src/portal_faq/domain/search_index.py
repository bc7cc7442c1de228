"""The FAQ's search index in memory: the same matching and ranking as the database search
(migrations/0002_search.sql, repository/search.py), computed in Python without I/O.

An FAQ has tens to a few hundred entries, so the whole index is a few hundred kB and a
query costs tens of microseconds instead of a database round trip with trigram scans.

- Words are stemmed with the Snowball stemmers PostgreSQL uses (`german` and `english`,
  same stop words), so "Passwörter" finds "Passwort".
- A stem of four letters or more also matches as a prefix ("aktivier" finds
  "aktivierungslink"; a half-typed word finds the whole).
- A typed word of four letters or more that the FAQ does not contain is matched to up to
  three words of the FAQ's vocabulary: a misspelling ("pasword": "passwort", by edit
  similarity) or a part of a compound ("passwortregeln": "passwort", a vocabulary word of
  five letters or more found nearly whole inside it).
- Entries matching more of the typed words come first, then by PostgreSQL's `ts_rank`
  (question A = 1.0, answer B = 0.4, category title C = 0.2), then in reading order.
- The question is highlighted wherever a word matches; the answer snippet shows up to two
  fragments of at most 30 words around the matches (or its first 12 words), like
  `ts_headline`. Every piece of text is escaped; `<mark>` is the only markup.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import snowballstemmer
from rapidfuzz import fuzz, process

from portal_faq.domain import stopwords
from portal_faq.domain.search import search_terms

# ts_rank's default weights for A, B, C; 1.64493406685 = pi^2 / 6, its normalisation.
WEIGHT_QUESTION = 1.0
WEIGHT_ANSWER = 0.4
WEIGHT_CATEGORY = 0.2
_ZETA2 = 1.64493406685
PREFIX_MIN = 4  # a stem this long matches as a prefix too
GUESS_MIN = 4  # unknown words this long are matched to the vocabulary
GUESSES = 3
GUESS_RATIO = 75.0  # rapidfuzz.fuzz.ratio (0–100) for a misspelling
COMPOUND_PART_MIN = 5
COMPOUND_PARTIAL = 90.0  # fuzz.partial_ratio: the part appears (nearly) whole in the word
SNIPPET_MAX_WORDS = 30
SNIPPET_MIN_WORDS = 12
SNIPPET_FRAGMENTS = 2
FRAGMENT_DELIMITER = " … "
# Fragments this few words apart are shown as one: " … " standing for no word, or for the
# "E" of "E-Mail", reads as a break in the text ("eine … Mail", "z … B.").
SNIPPET_BRIDGE_WORDS = 2

_WORD = re.compile(r"[^\W_]+")
_COMPOUND = re.compile(r"[^\W_]+(?:-[^\W_]+)+")
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")

_STEMMERS = {"german": snowballstemmer.stemmer("german"),
             "english": snowballstemmer.stemmer("english")}
_STOP = {"german": stopwords.GERMAN, "english": stopwords.ENGLISH}
for _stemmer in _STEMMERS.values():
    # PyStemmer's own cache prunes itself in bulk when full; `lexeme` keeps the stems.
    if hasattr(_stemmer, "maxCacheSize"):
        _stemmer.maxCacheSize = 0


@lru_cache(maxsize=65536)
def lexeme(word: str, config: str) -> str | None:
    """The stem of a lower-case word in `config` ("german"/"english"), None for a stop word."""
    if word in _STOP[config]:
        return None
    return _STEMMERS[config].stemWord(word)


@lru_cache(maxsize=65536)
def lexemes(word: str) -> frozenset[str]:
    """A typed word's German and English stems, as `to_tsvector` gives them."""
    return frozenset(lx for config in ("german", "english") if (lx := lexeme(word, config)))


def _tokens(text: str) -> list[str]:
    """Lower-case words in order; a hyphenated compound also as a whole ("e-mail")."""
    lowered = text.casefold()
    words: list[tuple[int, str]] = [(m.start(), m.group()) for m in _WORD.finditer(lowered)]
    words += [(m.start() - 1, m.group()) for m in _COMPOUND.finditer(lowered)]
    return [w for _, w in sorted(words)]


@dataclass(frozen=True)
class Entry:
    """One FAQ entry with its category, as the index needs it."""

    slug: str
    question: str
    answer_markdown: str
    answer_html: str
    question_en: str | None
    answer_en_markdown: str | None
    answer_en_html: str | None
    position: int
    category_slug: str
    category_title: str
    category_title_en: str | None
    category_position: int

    @classmethod
    def of(cls, stored: Any) -> Entry:
        """The fields of a `StoredEntry` (or anything with them) the index uses."""
        return cls(**{name: getattr(stored, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class _Text:
    """A text to highlight in the display language: its words' stems, and its pieces
    escaped once, so a query only picks and joins them."""

    text: str
    stems: tuple[str | None, ...]
    head: str  # escaped text before the first word
    tail: str  # escaped text after the last word
    words: tuple[str, ...]  # each word escaped
    marked: tuple[str, ...]  # each word escaped, in <mark>
    gaps: tuple[str, ...]  # escaped text between word i - 1 and word i ("" for the first)
    where: dict[str, tuple[int, ...]]  # stem -> the numbers of the words with it
    stem_set: frozenset[str]

    @classmethod
    def of(cls, text: str, config: str) -> _Text:
        matches = list(_WORD.finditer(text))
        words = tuple(html.escape(m.group()) for m in matches)
        ends = [0] + [m.end() for m in matches]
        stems = tuple(lexeme(m.group().casefold(), config) for m in matches)
        where: dict[str, list[int]] = {}
        for i, stem in enumerate(stems):
            if stem is not None:
                where.setdefault(stem, []).append(i)
        return cls(
            text,
            stems,
            html.escape(text[: matches[0].start()]) if matches else html.escape(text),
            html.escape(text[matches[-1].end() :]) if matches else "",
            words,
            tuple(f"<mark>{w}</mark>" for w in words),
            tuple("" if i == 0 else html.escape(text[ends[i] : m.start()])
                  for i, m in enumerate(matches)),
            {stem: tuple(at) for stem, at in where.items()},
            frozenset(where),
        )

    def hits(self, found: frozenset[str]) -> list[int]:
        """The numbers of the words with these stems, in order."""
        return sorted(i for stem in found for i in self.where[stem])


@dataclass(frozen=True)
class _Shown:
    """What a result shows in one language."""

    english: bool
    question: _Text
    answer: _Text
    category_title: str


class SearchIndex:
    def __init__(self, entries: Sequence[Entry]) -> None:
        self._entries = list(entries)
        # lexeme -> {entry number: its ts_rank contribution}
        self._postings: dict[str, dict[int, float]] = {}
        vocabulary: set[str] = set()
        self._shown: list[dict[str, _Shown]] = []
        for number, entry in enumerate(self._entries):
            positions: dict[str, list[tuple[int, float]]] = {}
            counter = 0
            for text, config, weight in _fields(entry):
                for word in _tokens(text):
                    counter += 1
                    if (lx := lexeme(word, config)) is not None:
                        positions.setdefault(lx, []).append((counter, weight))
            for lx, found in positions.items():
                self._postings.setdefault(lx, {})[number] = _rank_part([w for _, w in found])
            for text in (entry.question, entry.answer_markdown, entry.question_en,
                         entry.answer_en_markdown):
                vocabulary.update(w for w in _WORD.findall((text or "").casefold())
                                  if len(w) >= GUESS_MIN)
            self._shown.append({"de": _shown(entry, "de"), "en": _shown(entry, "en")})
        headline_stems = {
            stem
            for shown in self._shown
            for view in shown.values()
            for text in (view.question, view.answer)
            for stem in text.stems
            if stem is not None
        }
        self._lexemes = sorted(set(self._postings) | headline_stems)
        self._vocabulary = sorted(vocabulary)
        self._known = frozenset(vocabulary)
        self._compound_parts = [w for w in self._vocabulary if len(w) >= COMPOUND_PART_MIN]
        self._compound_parts.sort(key=len)
        self._part_lengths = [len(w) for w in self._compound_parts]
        self._guesses = lru_cache(maxsize=8192)(self._guess)
        self._highlighted = lru_cache(maxsize=8192)(self._highlight)
        self._word_stems = lru_cache(maxsize=8192)(self._word_stems)  # type: ignore[method-assign]
        self._stem_matches = lru_cache(maxsize=8192)(self._stem_match)

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, text: str, limit: int, language: str) -> list[dict[str, Any]]:
        """The best `limit` entries for `text`, as `views.search_view` shows them."""
        terms: dict[int, set[str]] = {}  # typed word -> its stems, its synonyms' and guesses'
        for term in search_terms(text):
            terms.setdefault(term.position, set()).update(self._word_stems(term.word))
        matched: dict[int, int] = {}  # entry -> typed words it matches
        rank: dict[int, float] = {}
        stems_seen: set[str] = set()
        highlight: set[str] = set()
        for stems in terms.values():
            entries: set[int] = set()
            for stem in stems:
                found, parts = self._stem_matches(stem)
                entries.update(parts)
                if stem not in stems_seen:  # ts_rank counts each query lexeme once
                    stems_seen.add(stem)
                    highlight.update(found)
                    for number, part in parts.items():
                        rank[number] = rank.get(number, 0.0) + part
            for number in entries:
                matched[number] = matched.get(number, 0) + 1
        if not matched:
            return []
        entries_ = self._entries
        best = sorted(
            matched,
            key=lambda n: (-matched[n], -rank[n], entries_[n].category_position,
                           entries_[n].position),
        )[:limit]
        frozen = frozenset(highlight)
        return [self._result(n, language, frozen) for n in best]

    def _word_stems(self, word: str) -> frozenset[str]:
        """The stems of a typed word and of the FAQ's words it was probably meant as."""
        return lexemes(word).union(*(lexemes(guess) for guess in self._guesses(word)))

    def _stem_match(self, stem: str) -> tuple[frozenset[str], dict[int, float]]:
        """The index's lexemes a query stem matches, and its rank share per entry."""
        found = frozenset(self._expand(stem))
        parts: dict[int, float] = {}
        for lx in found:
            for number, part in self._postings.get(lx, {}).items():
                parts[number] = parts.get(number, 0.0) + part
        return found, parts

    def _expand(self, stem: str) -> set[str]:
        """The index's lexemes the stem matches: itself, or all it begins (4+ letters)."""
        if len(stem) < PREFIX_MIN:
            return {stem} if stem in self._postings else set()
        found = set()
        at = bisect_left(self._lexemes, stem)
        while at < len(self._lexemes) and self._lexemes[at].startswith(stem):
            found.add(self._lexemes[at])
            at += 1
        return found

    def _guess(self, word: str) -> tuple[str, ...]:
        """Up to three words of the FAQ an unknown word was probably meant as."""
        if len(word) < GUESS_MIN or word in self._known or word.isdigit():
            return ()  # a number is matched as typed: 1234 is no misspelling of 1243
        scores = {
            candidate: score
            for candidate, score, _ in process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=GUESS_RATIO,
                limit=GUESSES,
            )
        }
        # A part of a compound is no longer than the word: only those are compared.
        shorter = self._compound_parts[: bisect_right(self._part_lengths, len(word))]
        for part, _, _ in process.extract(
            word, shorter, scorer=fuzz.partial_ratio, score_cutoff=COMPOUND_PARTIAL, limit=None
        ):
            scores.setdefault(part, fuzz.ratio(part, word))
        ordered = sorted(scores, key=lambda w: (-scores[w], w))
        return tuple(ordered[:GUESSES])

    def _result(self, number: int, language: str, highlight: frozenset[str]) -> dict[str, Any]:
        entry = self._entries[number]
        language = "en" if language == "en" else "de"
        shown = self._shown[number][language]
        question_html, snippet_html = self._highlighted(
            number, language, highlight & shown.question.stem_set, highlight & shown.answer.stem_set
        )
        return {
            "slug": entry.slug,
            "question": shown.question.text,
            "question_html": question_html,
            "snippet_html": snippet_html,
            "category_slug": entry.category_slug,
            "category_title": shown.category_title,
            "english": shown.english,
        }

    def _highlight(
        self, number: int, language: str, in_question: frozenset[str], in_answer: frozenset[str]
    ) -> tuple[str, str]:
        """The question and the answer snippet with these stems marked. Kept (LRU): one
        query after another as it is typed marks the same words of the same entries."""
        shown = self._shown[number][language]
        return _highlight_all(shown.question, in_question), _snippet(shown.answer, in_answer)


def _fields(entry: Entry) -> Iterable[tuple[str, str, float]]:
    """The texts of an entry's search document, in the order of its tsvector."""
    yield entry.question, "german", WEIGHT_QUESTION
    yield entry.answer_markdown, "german", WEIGHT_ANSWER
    yield entry.question_en or "", "english", WEIGHT_QUESTION
    yield entry.answer_en_markdown or "", "english", WEIGHT_ANSWER
    yield entry.category_title, "german", WEIGHT_CATEGORY
    yield entry.category_title_en or "", "english", WEIGHT_CATEGORY


def _rank_part(weights: list[float]) -> float:
    """ts_rank's share of one lexeme with these position weights (tsrank.c, calc_rank_or)."""
    total, best, best_at = 0.0, -1.0, 0
    for j, weight in enumerate(weights):
        total += weight / ((j + 1) * (j + 1))
        if weight > best:
            best, best_at = weight, j
    return (best + total - best / ((best_at + 1) * (best_at + 1))) / _ZETA2


def _shown(entry: Entry, language: str) -> _Shown:
    english = language == "en" and entry.question_en is not None
    config = "english" if english else "german"
    question = entry.question_en if english and entry.question_en else entry.question
    answer_html = entry.answer_en_html if english and entry.answer_en_html else entry.answer_html
    answer = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", answer_html))).strip()
    if language == "en" and entry.category_title_en is not None:
        title = entry.category_title_en
    else:
        title = entry.category_title
    return _Shown(english, _Text.of(question, config), _Text.of(answer, config), title)


def _marked(text: _Text, start: int, end: int, hits: Collection[int]) -> str:
    """Words `start`..`end` (exclusive) of `text` as HTML, the hits in `<mark>`."""
    words, marked, gaps = text.words, text.marked, text.gaps
    parts = [marked[start] if start in hits else words[start]]
    for i in range(start + 1, end):
        parts.append(gaps[i])
        parts.append(marked[i] if i in hits else words[i])
    return "".join(parts)


def _highlight_all(text: _Text, found: frozenset[str]) -> str:
    if not text.words:
        return text.head
    hits = frozenset(text.hits(found))
    return text.head + _marked(text, 0, len(text.words), hits) + text.tail


def _snippet(text: _Text, found: frozenset[str]) -> str:
    count = len(text.words)
    if count == 0:
        return ""
    at = text.hits(found)
    hits = frozenset(at)
    if not at:
        return _marked(text, 0, min(SNIPPET_MIN_WORDS, count), hits)
    # Groups of hits that fit into one fragment; the ones with the most hits are shown.
    groups: list[list[int]] = []
    for i in at:
        if groups and i - groups[-1][0] < SNIPPET_MAX_WORDS:
            groups[-1].append(i)
        else:
            groups.append([i])
    chosen = sorted(sorted(groups, key=lambda g: (-len(g), g[0]))[:SNIPPET_FRAGMENTS])
    fragments: list[tuple[int, int]] = []
    for group in chosen:
        span = group[-1] - group[0] + 1
        before = (SNIPPET_MAX_WORDS - span) // 2
        start = max(group[0] - before, fragments[-1][1] if fragments else 0)
        end = min(count, start + SNIPPET_MAX_WORDS)
        start = max(fragments[-1][1] if fragments else 0, min(start, end - SNIPPET_MAX_WORDS))
        if fragments and start - fragments[-1][1] <= SNIPPET_BRIDGE_WORDS:
            fragments[-1] = (fragments[-1][0], end)
        else:
            fragments.append((start, end))
    return FRAGMENT_DELIMITER.join(_marked(text, start, end, hits) for start, end in fragments)
