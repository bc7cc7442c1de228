-- The complete account lifecycle: consent, password history, reset tokens, roles,
-- brute-force throttling, rate limits and the audit log.

ALTER TABLE accounts
    ADD COLUMN terms_version   text,
    ADD COLUMN privacy_version text,
    ADD COLUMN consented_at    timestamptz;

CREATE TABLE password_history (
    id            bigserial PRIMARY KEY,       -- orders entries made within one clock tick
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX password_history_account_idx ON password_history (account_id, id DESC);

CREATE TABLE reset_tokens (
    token_hash  bytea PRIMARY KEY,             -- sha256 of the mailed token
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX reset_tokens_account_idx ON reset_tokens (account_id);

CREATE TABLE account_roles (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, role)
);

-- Failed logins per subject ("account:<email key>", "ip:<address>"), shared by replicas.
CREATE TABLE login_failures (
    key             text PRIMARY KEY,
    failures        integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    locked_until    timestamptz
);

CREATE TABLE rate_limits (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL
);

-- Who did what, when, from where. No foreign key: entries outlive a deleted account.
-- Never a password or a token.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    occurred_at     timestamptz NOT NULL,
    action          text NOT NULL,
    account_id      uuid,
    customer_number text,
    ip              text,
    detail          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_account_idx ON audit_log (account_id, occurred_at);
