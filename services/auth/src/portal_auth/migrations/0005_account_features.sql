-- Account features: changing the e-mail address (confirmed by the new address, the old
-- one told), and what a customer's list of sessions shows (device, coarse place, last use).

CREATE TABLE email_change_tokens (
    token_hash    bytea PRIMARY KEY,           -- sha256 of the token mailed to the new address
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    new_email     text NOT NULL,               -- as entered, for mails
    new_email_key text NOT NULL,               -- for the uniqueness check when confirmed
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX email_change_tokens_account_idx ON email_change_tokens (account_id);

ALTER TABLE sessions
    ADD COLUMN user_agent   text NOT NULL DEFAULT '',  -- the client's, cut to 512 characters
    ADD COLUMN place        text NOT NULL DEFAULT '',  -- the client IP, last octet masked
    ADD COLUMN last_used_at timestamptz;               -- the login, then every refresh
