-- Portal schema: server-side sessions. The browser holds only a random session id in
-- one cookie; the row keeps what belongs to it (CSRF token, language, the auth tokens
-- of a logged-in customer). The id is stored as its SHA-256, so a copy of this table
-- does not let anyone take over a session.

CREATE TABLE sessions (
    id_hash           bytea PRIMARY KEY,
    csrf_token        text NOT NULL,
    language          text CHECK (language IN ('de', 'en')),
    access_token      text,
    refresh_token     text,
    access_expires_at timestamptz,
    flash             jsonb,
    created_at        timestamptz NOT NULL,
    last_seen_at      timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL    -- absolute end, whatever the activity
);

CREATE INDEX sessions_last_seen_idx ON sessions (last_seen_at);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
