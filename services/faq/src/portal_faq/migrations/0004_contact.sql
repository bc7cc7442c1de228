-- The contact form: what was sent (support receives it by mail through the outbox), and
-- the per-client counters of portal_shared.ratelimit.

CREATE TABLE contact_requests (
    id               uuid PRIMARY KEY,
    name             text NOT NULL,
    email            text NOT NULL,
    customer_number  text,
    subject          text NOT NULL,
    message          text NOT NULL,
    locale           text NOT NULL CHECK (locale IN ('de', 'en')),
    client_ip        text NOT NULL,
    correlation_id   text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_requests_created_at_idx ON contact_requests (created_at);

CREATE TABLE rate_limits (
    key           text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    hits          integer NOT NULL
);
