"""Loading and replacing the whole content (seed, `portal-faq import`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal_faq.content import render_markdown
from portal_shared.db import Executor

UPSERT_CATEGORIES = """
INSERT INTO categories AS c (slug, title, title_en, position)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
ON CONFLICT (slug) DO UPDATE
    SET title = EXCLUDED.title, title_en = EXCLUDED.title_en, position = EXCLUDED.position,
        updated_at = now(), updated_by = NULL
    WHERE (c.title, c.title_en, c.position)
          IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.title_en, EXCLUDED.position)
"""
LOCK_CONTENT = "SELECT pg_advisory_xact_lock(hashtext('faq:content'))"
HAS_CONTENT = "SELECT EXISTS (SELECT FROM categories)"
CATEGORY_IDS = "SELECT slug, id FROM categories WHERE slug = ANY($1::text[])"
UPSERT_ENTRIES = """
INSERT INTO entries AS e (
    category_id, slug, question, answer_markdown, answer_html,
    question_en, answer_en_markdown, answer_en_html, position
)
SELECT * FROM unnest(
    $1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
    $6::text[], $7::text[], $8::text[], $9::int[]
)
ON CONFLICT (slug) DO UPDATE
    SET category_id = EXCLUDED.category_id, question = EXCLUDED.question,
        answer_markdown = EXCLUDED.answer_markdown, answer_html = EXCLUDED.answer_html,
        question_en = EXCLUDED.question_en, answer_en_markdown = EXCLUDED.answer_en_markdown,
        answer_en_html = EXCLUDED.answer_en_html, position = EXCLUDED.position,
        updated_at = now(), updated_by = NULL
    WHERE (e.category_id, e.question, e.answer_markdown, e.answer_html, e.question_en,
           e.answer_en_markdown, e.answer_en_html, e.position)
          IS DISTINCT FROM
          (EXCLUDED.category_id, EXCLUDED.question, EXCLUDED.answer_markdown,
           EXCLUDED.answer_html, EXCLUDED.question_en, EXCLUDED.answer_en_markdown,
           EXCLUDED.answer_en_html, EXCLUDED.position)
RETURNING (xmax = 0) AS inserted
"""
DELETE_ENTRIES_EXCEPT = "DELETE FROM entries WHERE slug <> ALL($1::text[])"
DELETE_CATEGORIES_EXCEPT = "DELETE FROM categories WHERE slug <> ALL($1::text[])"


@dataclass(frozen=True)
class CategoryRow:
    slug: str
    title: str
    title_en: str | None
    position: int


@dataclass(frozen=True)
class EntryRow:
    category_slug: str
    slug: str
    question: str
    answer_markdown: str
    answer_html: str
    question_en: str | None
    answer_en_markdown: str | None
    answer_en_html: str | None
    position: int

    @classmethod
    def rendered(
        cls, category_slug: str, slug: str, position: int, question: str, answer: str,
        question_en: str | None, answer_en: str | None,
    ) -> EntryRow:
        """A row with its Markdown answers rendered to sanitised HTML, as stored."""
        return cls(
            category_slug=category_slug,
            slug=slug,
            question=question,
            answer_markdown=answer,
            answer_html=render_markdown(answer),
            question_en=question_en,
            answer_en_markdown=answer_en,
            answer_en_html=render_markdown(answer_en) if answer_en else None,
            position=position,
        )


@dataclass(frozen=True)
class ImportCounts:
    """What an import did to the entries."""

    added: int
    updated: int
    unchanged: int
    removed: int


async def lock_content(conn: Executor) -> None:
    """Serialise imports (and seeding by replicas starting together) until commit."""
    await conn.execute(LOCK_CONTENT)


async def has_content(conn: Executor) -> bool:
    return await conn.fetchval(HAS_CONTENT)


async def replace_content(
    conn: Executor, categories: Sequence[CategoryRow], entries: Sequence[EntryRow]
) -> ImportCounts:
    """Make the tables hold exactly these rows; rows that did not change keep `updated_at`."""
    category_slugs = [c.slug for c in categories]
    await conn.execute(
        UPSERT_CATEGORIES,
        category_slugs,
        [c.title for c in categories],
        [c.title_en for c in categories],
        [c.position for c in categories],
    )
    ids = dict(await conn.fetch(CATEGORY_IDS, category_slugs))
    returned = await conn.fetch(
        UPSERT_ENTRIES,
        [ids[e.category_slug] for e in entries],
        [e.slug for e in entries],
        [e.question for e in entries],
        [e.answer_markdown for e in entries],
        [e.answer_html for e in entries],
        [e.question_en for e in entries],
        [e.answer_en_markdown for e in entries],
        [e.answer_en_html for e in entries],
        [e.position for e in entries],
    )
    removed = await conn.execute(DELETE_ENTRIES_EXCEPT, [e.slug for e in entries])
    # Categories go last: entries that moved out of them have been re-pointed by now.
    await conn.execute(DELETE_CATEGORIES_EXCEPT, category_slugs)
    added = sum(1 for r in returned if r["inserted"])
    updated = len(returned) - added
    return ImportCounts(added, updated, len(entries) - added - updated, _row_count(removed))


def _row_count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


# --- editing -----------------------------------------------------------------------

