"""Full-text and trigram search over the entries."""

from __future__ import annotations

from collections.abc import Sequence

from portal_faq.domain.models import SearchHit
from portal_shared.db import Executor

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
) -> list[SearchHit]:
    """Entries matching the words (`positions` groups a typed word with its synonyms)."""
    rows = await db.fetch(
        SEARCH, list(positions), list(words), limit, language, question_options, answer_options
    )
    return [SearchHit(*row) for row in rows]


# --- replacing the content ---------------------------------------------------------

