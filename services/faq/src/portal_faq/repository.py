"""SQL of the FAQ service. Functions take a pool or a connection; callers own transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

Executor = asyncpg.Pool | asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


# --- reading -----------------------------------------------------------------------

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
LOCK_ENTRY = FIND_ENTRY + " FOR UPDATE OF e"
_CATEGORY_COLUMNS = "SELECT slug, title, title_en, position, updated_at FROM categories "
FIND_CATEGORY = _CATEGORY_COLUMNS + "WHERE slug = $1"
LOCK_CATEGORY = FIND_CATEGORY + " FOR UPDATE"


async def list_entries(db: Executor) -> list[asyncpg.Record]:
    """Every entry with its category, in reading order (category, then entry position)."""
    return await db.fetch(LIST_ENTRIES)


async def find_entry(db: Executor, slug: str) -> asyncpg.Record | None:
    return await db.fetchrow(FIND_ENTRY, slug)


async def find_category(db: Executor, slug: str) -> asyncpg.Record | None:
    return await db.fetchrow(FIND_CATEGORY, slug)


# --- searching ---------------------------------------------------------------------

SEARCH = """
WITH typed AS (
    SELECT * FROM unnest($1::int[], $2::text[]) AS t(term, word)
),
vocabulary AS MATERIALIZED (
    SELECT word FROM search_words
),
-- Each typed word, plus up to three words of the FAQ it was probably meant as: a
-- misspelling ("pasword": "passwort") or a part of a compound ("passwortregeln").
meant AS (
    SELECT term, word FROM typed
    UNION
    SELECT t.term, guess.word
    FROM typed t
    CROSS JOIN LATERAL (
        SELECT v.word FROM vocabulary v
        WHERE length(t.word) >= 4
          AND NOT EXISTS (SELECT FROM vocabulary known WHERE known.word = t.word)
          AND (similarity(v.word, t.word) >= 0.35
               OR (length(v.word) >= 5 AND strict_word_similarity(v.word, t.word) >= 0.8))
        ORDER BY similarity(v.word, t.word) DESC
        LIMIT 3
    ) AS guess
),
-- German and English stems. A stem of four letters or more matches as a prefix too
-- ("aktivier" finds "aktivierungslink"); listing it also exactly makes a whole-word
-- match count twice in the rank.
stems AS (
    SELECT DISTINCT m.term, s.lexeme
    FROM meant m,
         LATERAL (SELECT lexeme FROM unnest(to_tsvector('german', m.word))
                  UNION
                  SELECT lexeme FROM unnest(to_tsvector('english', m.word))) AS s
),
term_queries AS (
    SELECT term,
           string_agg(quote_literal(lexeme) || ' | ' || quote_literal(lexeme)
                      || CASE WHEN length(lexeme) >= 4 THEN ':*' ELSE '' END, ' | ') AS query
    FROM stems
    GROUP BY term
),
whole_query AS (
    SELECT string_agg(query, ' | ')::tsquery AS query FROM term_queries
),
documents AS (
    SELECT e.id, c.position AS category_position, e.position,
           e.search_document || setweight(to_tsvector('german', c.title), 'C')
               || setweight(to_tsvector('english', coalesce(c.title_en, '')), 'C') AS document
    FROM entries e
    JOIN categories c ON c.id = e.category_id
),
-- Entries matching more of the typed words first, then by text-search rank.
ranked AS (
    SELECT d.id, count(*) AS terms_matched, ts_rank(d.document, w.query) AS rank,
           d.category_position, d.position
    FROM documents d
    JOIN term_queries t ON d.document @@ t.query::tsquery
    CROSS JOIN whole_query w
    GROUP BY d.id, d.document, d.category_position, d.position, w.query
    ORDER BY terms_matched DESC, rank DESC, d.category_position, d.position
    LIMIT $3
),
shown AS (
    SELECT r.*, e.slug, c.slug AS category_slug,
           ($4 = 'en' AND e.question_en IS NOT NULL) AS english,
           CASE WHEN $4 = 'en' THEN coalesce(c.title_en, c.title) ELSE c.title END
               AS category_title,
           CASE WHEN $4 = 'en' AND e.question_en IS NOT NULL
                THEN e.question_en ELSE e.question END AS question,
           CASE WHEN $4 = 'en' AND e.question_en IS NOT NULL
                THEN e.answer_en_html ELSE e.answer_html END AS answer_html
    FROM ranked r
    JOIN entries e ON e.id = r.id
    JOIN categories c ON c.id = e.category_id
)
SELECT s.slug, s.category_slug, s.category_title, s.question, s.english,
       ts_headline(CASE WHEN s.english THEN 'english' ELSE 'german' END::regconfig,
                   s.question, w.query, $5) AS question_headline,
       -- The answer as text: its sanitised HTML without the tags (entities stay encoded).
       ts_headline(CASE WHEN s.english THEN 'english' ELSE 'german' END::regconfig,
                   regexp_replace(s.answer_html, '<[^>]*>', ' ', 'g'), w.query, $6)
           AS answer_headline
FROM shown s
CROSS JOIN whole_query w
ORDER BY s.terms_matched DESC, s.rank DESC, s.category_position, s.position
"""


async def search(
    db: Executor,
    positions: Sequence[int],
    words: Sequence[str],
    limit: int,
    language: str,
    question_options: str,
    answer_options: str,
) -> list[asyncpg.Record]:
    """Entries matching the words (`positions` groups a typed word with its synonyms)."""
    return await db.fetch(
        SEARCH, list(positions), list(words), limit, language, question_options, answer_options
    )


# --- replacing the content ---------------------------------------------------------

LOCK_CONTENT = "SELECT pg_advisory_xact_lock(hashtext('faq:content'))"
HAS_CONTENT = "SELECT EXISTS (SELECT FROM categories)"
UPSERT_CATEGORIES = """
INSERT INTO categories AS c (slug, title, title_en, position)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
ON CONFLICT (slug) DO UPDATE
    SET title = EXCLUDED.title, title_en = EXCLUDED.title_en, position = EXCLUDED.position,
        updated_at = now(), updated_by = NULL
    WHERE (c.title, c.title_en, c.position)
          IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.title_en, EXCLUDED.position)
"""
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

CATEGORY_ID = "SELECT id FROM categories WHERE slug = $1"
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


async def lock_entry(conn: Executor, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK_ENTRY, slug)


async def lock_category(conn: Executor, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK_CATEGORY, slug)


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

INSERT_CONTACT_REQUEST = """
INSERT INTO contact_requests (
    id, name, email, customer_number, subject, message, locale, client_ip, correlation_id
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""


@dataclass(frozen=True)
class ContactRequestRow:
    id: UUID
    name: str
    email: str
    customer_number: str | None
    subject: str
    message: str
    locale: str
    client_ip: str
    correlation_id: str


async def insert_contact_request(conn: Executor, row: ContactRequestRow) -> None:
    await conn.execute(
        INSERT_CONTACT_REQUEST, row.id, row.name, row.email, row.customer_number, row.subject,
        row.message, row.locale, row.client_ip, row.correlation_id,
    )
