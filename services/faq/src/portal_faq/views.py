"""The JSON the FAQ API answers with, in the reader's language.

German is the source; an entry without an English translation is shown in German, and
its `language` says so, so a page can mark it with the right `lang` attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any

from portal_shared.i18n import Language

Row = Mapping[str, Any]


def faq_view(rows: Iterable[Row], language: Language) -> dict[str, Any]:
    """`rows` in reading order, as `repository.list_entries` returns them."""
    categories = []
    for slug, group in groupby(rows, key=lambda r: r["category_slug"]):
        entries = list(group)
        categories.append(
            {
                "slug": slug,
                "title": _category_title(entries[0], language),
                "position": entries[0]["category_position"],
                "entries": [entry_view(row, language) for row in entries],
            }
        )
    return {"language": language, "categories": categories}


def entry_view(row: Row, language: Language) -> dict[str, Any]:
    english = language == "en" and row["question_en"] is not None
    return {
        "slug": row["slug"],
        "question": row["question_en"] if english else row["question"],
        "answer_html": row["answer_en_html"] if english else row["answer_html"],
        "answer_markdown": row["answer_en_markdown"] if english else row["answer_markdown"],
        "position": row["position"],
        "updated_at": row["updated_at"].isoformat(),
        "language": "en" if english else "de",
    }


def single_entry_view(row: Row, language: Language) -> dict[str, Any]:
    return {
        **entry_view(row, language),
        "category": {"slug": row["category_slug"], "title": _category_title(row, language)},
    }


def _category_title(row: Row, language: Language) -> str:
    if language == "en" and row["category_title_en"] is not None:
        return row["category_title_en"]
    return row["category_title"]


def category_view(row: Row, language: Language) -> dict[str, Any]:
    english = language == "en" and row["title_en"] is not None
    return {
        "slug": row["slug"],
        "title": row["title_en"] if english else row["title"],
        "position": row["position"],
        "updated_at": row["updated_at"].isoformat(),
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
