"""Single edits by faq_editors, with their change record."""

from __future__ import annotations

from portal_faq.domain.models import StoredCategory, StoredEntry
from portal_faq.repository.content import CategoryRow, EntryRow
from portal_faq.repository.reading import FIND_CATEGORY, FIND_ENTRY
from portal_shared.db import Executor

INSERT_ENTRY = """
INSERT INTO entries (
    category_id, slug, question, answer_markdown, answer_html,
    question_en, answer_en_markdown, answer_en_html, position, updated_by
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
UPDATE_ENTRY = """
UPDATE entries
SET category_id = $1, question = $3, answer_markdown = $4, answer_html = $5,
    question_en = $6, answer_en_markdown = $7, answer_en_html = $8, position = $9,
    updated_by = $10, updated_at = now()
WHERE slug = $2
"""
DELETE_ENTRY = "DELETE FROM entries WHERE slug = $1"
INSERT_CATEGORY = """
INSERT INTO categories (slug, title, title_en, position, updated_by) VALUES ($1, $2, $3, $4, $5)
"""
UPDATE_CATEGORY = """
UPDATE categories
SET title = $2, title_en = $3, position = $4, updated_by = $5, updated_at = now()
WHERE slug = $1
"""
DELETE_CATEGORY = "DELETE FROM categories WHERE slug = $1"
RECORD_CHANGE = """
INSERT INTO changes (changed_by, action, subject, slug, before, after)
VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)
"""


LOCK_ENTRY = FIND_ENTRY + " FOR UPDATE OF e"
LOCK_CATEGORY = FIND_CATEGORY + " FOR UPDATE"
CATEGORY_ID = "SELECT id FROM categories WHERE slug = $1"


async def lock_entry(conn: Executor, slug: str) -> StoredEntry | None:
    """The entry as stored, locked until the transaction ends."""
    row = await conn.fetchrow(LOCK_ENTRY, slug)
    return None if row is None else StoredEntry(*row)


async def lock_category(conn: Executor, slug: str) -> StoredCategory | None:
    row = await conn.fetchrow(LOCK_CATEGORY, slug)
    return None if row is None else StoredCategory(*row)


async def category_id(conn: Executor, slug: str) -> int | None:
    return await conn.fetchval(CATEGORY_ID, slug)


async def insert_entry(conn: Executor, category: int, entry: EntryRow, editor: str) -> None:
    await conn.execute(INSERT_ENTRY, category, *_entry_values(entry), editor)


async def update_entry(conn: Executor, category: int, entry: EntryRow, editor: str) -> None:
    await conn.execute(UPDATE_ENTRY, category, *_entry_values(entry), editor)


def _entry_values(entry: EntryRow) -> tuple[object, ...]:
    return (
        entry.slug, entry.question, entry.answer_markdown, entry.answer_html,
        entry.question_en, entry.answer_en_markdown, entry.answer_en_html, entry.position,
    )


async def delete_entry(conn: Executor, slug: str) -> None:
    await conn.execute(DELETE_ENTRY, slug)


async def insert_category(conn: Executor, category: CategoryRow, editor: str) -> None:
    await conn.execute(
        INSERT_CATEGORY, category.slug, category.title, category.title_en, category.position,
        editor,
    )


async def update_category(conn: Executor, category: CategoryRow, editor: str) -> None:
    await conn.execute(
        UPDATE_CATEGORY, category.slug, category.title, category.title_en, category.position,
        editor,
    )


async def delete_category(conn: Executor, slug: str) -> None:
    await conn.execute(DELETE_CATEGORY, slug)


async def record_change(
    conn: Executor,
    editor: str,
    action: str,
    subject: str,
    slug: str,
    before: str | None,
    after: str | None,
) -> None:
    """One row of the audit trail; `before`/`after` are the row as JSON text."""
    await conn.execute(RECORD_CHANGE, editor, action, subject, slug, before, after)


# --- contact form ------------------------------------------------------------------
