"""Reading entries and categories."""

from __future__ import annotations

from portal_faq.domain.models import StoredCategory, StoredEntry
from portal_shared.db import Executor

_ENTRY_COLUMNS = """
SELECT c.slug AS category_slug, c.title AS category_title, c.title_en AS category_title_en,
       c.position AS category_position,
       e.slug, e.question, e.answer_markdown, e.answer_html,
       e.question_en, e.answer_en_markdown, e.answer_en_html, e.position, e.updated_at
FROM entries e
JOIN categories c ON c.id = e.category_id
"""
LIST_ENTRIES = _ENTRY_COLUMNS + "ORDER BY c.position, e.position"
FIND_ENTRY = _ENTRY_COLUMNS + "WHERE e.slug = $1"
_CATEGORY_COLUMNS = "SELECT slug, title, title_en, position, updated_at FROM categories "
FIND_CATEGORY = _CATEGORY_COLUMNS + "WHERE slug = $1"


async def list_entries(db: Executor) -> list[StoredEntry]:
    """Every entry with its category, in reading order (category, then entry position)."""
    return [StoredEntry(*row) for row in await db.fetch(LIST_ENTRIES)]


async def find_entry(db: Executor, slug: str) -> StoredEntry | None:
    row = await db.fetchrow(FIND_ENTRY, slug)
    return None if row is None else StoredEntry(*row)


async def find_category(db: Executor, slug: str) -> StoredCategory | None:
    row = await db.fetchrow(FIND_CATEGORY, slug)
    return None if row is None else StoredCategory(*row)
