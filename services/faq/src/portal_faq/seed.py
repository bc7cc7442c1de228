"""Loading FAQ content into the database: the packaged seed, or a file an editor supplies."""

from __future__ import annotations

import asyncpg

from portal_faq.config import SCHEMA
from portal_faq.content import Entry, FaqContent, packaged_faq
from portal_faq.repository import content as repo
from portal_shared.db import Executor


async def load_seed_if_empty(dsn: str) -> bool:
    """Load the packaged FAQ when there is no content yet; True when it did.

    Runs after every `migrate`, so it must leave content that was imported later alone.
    """
    conn = await _connect(dsn)
    try:
        async with conn.transaction():
            await repo.lock_content(conn)
            if await repo.has_content(conn):
                return False
            await import_content(conn, packaged_faq())
            return True
    finally:
        await conn.close()


async def import_faq(dsn: str, content: FaqContent) -> repo.ImportCounts:
    """Replace the whole FAQ with `content` in one transaction (`portal-faq import`)."""
    conn = await _connect(dsn)
    try:
        async with conn.transaction():
            await repo.lock_content(conn)
            return await import_content(conn, content)
    finally:
        await conn.close()


async def import_content(conn: Executor, content: FaqContent) -> repo.ImportCounts:
    categories = [
        repo.CategoryRow(c.slug, c.title, c.title_en, c.position) for c in content.categories
    ]
    entries = [_entry_row(c.slug, e) for c in content.categories for e in c.entries]
    return await repo.replace_content(conn, categories, entries)


def _entry_row(category_slug: str, entry: Entry) -> repo.EntryRow:
    return repo.EntryRow.rendered(
        category_slug, entry.slug, entry.position, entry.question, entry.answer,
        entry.question_en, entry.answer_en,
    )


async def _connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
