-- Search: full-text documents per entry (German and English), and the vocabulary of the
-- FAQ, so a misspelt or compound query word can be matched to real words by trigrams.

-- pg_trgm lives in `public`, where another schema of this database would look for it too;
-- the FAQ's connections search `faq, public`.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

-- The question outweighs the answer (A > B). Stored, so a search parses no entry text.
-- No index: an FAQ has tens of entries, and scanning them is faster than any index.
ALTER TABLE entries
    ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('german', question), 'A')
        || setweight(to_tsvector('german', answer_markdown), 'B')
        || setweight(to_tsvector('english', coalesce(question_en, '')), 'A')
        || setweight(to_tsvector('english', coalesce(answer_en_markdown, '')), 'B')
    ) STORED;

-- Every distinct word of four letters or more in questions and answers. A plain view:
-- computing it per search costs well under a millisecond and it is never out of date.
CREATE VIEW search_words AS
SELECT DISTINCT word
FROM entries,
     regexp_split_to_table(
         lower(concat_ws(' ', question, answer_markdown, question_en, answer_en_markdown)),
         '[^[:alnum:]]+'
     ) AS word
WHERE length(word) >= 4;
