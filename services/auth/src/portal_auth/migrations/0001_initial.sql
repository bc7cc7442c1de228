-- Auth service schema: customer master data, accounts, mailed tokens, sessions, outbox.

CREATE TABLE customers (
    customer_number text PRIMARY KEY,          -- normalised (see domain.customers)
    last_name       text NOT NULL,             -- as delivered by the master data
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id              uuid PRIMARY KEY,
    customer_number text NOT NULL REFERENCES customers (customer_number),
    email           text NOT NULL,             -- as entered, for mails
    email_key       text NOT NULL,             -- case-folded, for look-ups
    password_hash   text NOT NULL,
    locale          text NOT NULL DEFAULT 'de' CHECK (locale IN ('de', 'en')),
    status          text NOT NULL CHECK (status IN ('pending', 'active')),
    created_at      timestamptz NOT NULL,
    activated_at    timestamptz
);
CREATE UNIQUE INDEX accounts_customer_number_uniq ON accounts (customer_number);
CREATE UNIQUE INDEX accounts_email_key_uniq ON accounts (email_key);

CREATE TABLE activation_tokens (
    token_hash  bytea PRIMARY KEY,             -- sha256 of the mailed token
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX activation_tokens_account_idx ON activation_tokens (account_id);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,             -- sha256 of the opaque refresh token
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    routing_key  text NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now()
);
