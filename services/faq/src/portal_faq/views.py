"""The JSON the FAQ API answers with, in the reader's language.

German is the source; an entry without an English translation is shown in German, and
its `language` says so, so a page can mark it with the right `lang` attribute.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any

from portal_faq.domain.models import StoredCategory, StoredEntry
from portal_shared.i18n import Language

Row = Mapping[str, Any]


def faq_view(entries: Iterable[StoredEntry], language: Language) -> dict[str, Any]:
    """`entries` in reading order, as `repository.reading.list_entries` returns them."""
    categories = []
    for slug, group in groupby(entries, key=lambda e: e.category_slug):
        listed = list(group)
        categories.append(
            {
                "slug": slug,
                "title": _category_title(listed[0], language),
                "position": listed[0].category_position,
                "entries": [entry_view(entry, language) for entry in listed],
            }
        )
    return {"language": language, "categories": categories}


def entry_view(entry: StoredEntry, language: Language) -> dict[str, Any]:
    english = language == "en" and entry.question_en is not None
    return {
        "slug": entry.slug,
        "question": entry.question_en if english else entry.question,
        "answer_html": entry.answer_en_html if english else entry.answer_html,
        "answer_markdown": entry.answer_en_markdown if english else entry.answer_markdown,
        "position": entry.position,
        "updated_at": entry.updated_at.isoformat(),
        "language": "en" if english else "de",
    }


def single_entry_view(entry: StoredEntry, language: Language) -> dict[str, Any]:
    return {
        **entry_view(entry, language),
        "category": {"slug": entry.category_slug, "title": _category_title(entry, language)},
    }


def _category_title(entry: StoredEntry, language: Language) -> str:
    if language == "en" and entry.category_title_en is not None:
        return entry.category_title_en
    return entry.category_title


def category_view(category: StoredCategory, language: Language) -> dict[str, Any]:
    english = language == "en" and category.title_en is not None
    return {
        "slug": category.slug,
        "title": category.title_en if english else category.title,
        "position": category.position,
        "updated_at": category.updated_at.isoformat(),
        "language": "en" if english else "de",
    }


def search_view(results: Iterable[Row], language: Language) -> dict[str, Any]:
    """`results` carry the snippets already made safe (`domain.search.snippet_html`)."""
    return {
        "language": language,
        "results": [
            {
                "slug": row["slug"],
                "question": row["question"],
                "question_html": row["question_html"],
                "snippet_html": row["snippet_html"],
                "category": {"slug": row["category_slug"], "title": row["category_title"]},
                "language": "en" if row["english"] else "de",
            }
            for row in results
        ],
    }


def encode(view: dict[str, Any]) -> bytes:
    """A view as the API sends it: compact UTF-8 JSON."""
    return json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode()
