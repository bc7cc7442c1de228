-- Editing through the API: who changed what and when, and telling every replica that the
-- content changed so it drops its cached answers.

-- The editor's account id (the access token's `sub`); NULL: loaded from a TOML file.
ALTER TABLE categories ADD COLUMN updated_by text;
ALTER TABLE entries ADD COLUMN updated_by text;

-- Every change made through the API, with the row before and after (NULL when created or
-- deleted). Kept when the row itself is deleted, so a deletion can be traced and undone.
CREATE TABLE changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    subject     text NOT NULL CHECK (subject IN ('category', 'entry')),
    slug        text NOT NULL,
    before      jsonb,
    after       jsonb
);
CREATE INDEX changes_subject_idx ON changes (subject, slug, changed_at);

-- A trigger rather than a call in the code: an import (`portal-faq import`, another
-- process) or a manual fix in psql invalidates the caches just the same. Per statement,
-- and NOTIFY folds duplicates within a transaction: one message per change at most.
CREATE FUNCTION notify_content_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('faq_content_changed', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER categories_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
    FOR EACH STATEMENT EXECUTE FUNCTION notify_content_changed();
CREATE TRIGGER entries_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION notify_content_changed();
