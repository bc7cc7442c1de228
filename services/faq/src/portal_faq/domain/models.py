"""The FAQ's content as the use cases see it: typed, read-only, no database types."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StoredEntry:
    """One entry with its category, as stored (both languages)."""

    category_slug: str
    category_title: str
    category_title_en: str | None
    category_position: int
    slug: str
    question: str
    answer_markdown: str
    answer_html: str
    question_en: str | None
    answer_en_markdown: str | None
    answer_en_html: str | None
    position: int
    updated_at: datetime

    def state(self) -> dict[str, Any]:
        """Every stored field by name: what the entity tag and the change record cover."""
        return asdict(self)


@dataclass(frozen=True)
class StoredCategory:
    slug: str
    title: str
    title_en: str | None
    position: int
    updated_at: datetime

    def state(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SearchHit:
    """An entry the database search found, in the display language, with its marked-up
    question and answer excerpt (`ts_headline`, not yet made safe)."""

    slug: str
    category_slug: str
    category_title: str
    question: str
    english: bool
    question_headline: str
    answer_headline: str
