-- Mailer service schema: which events have been mailed, so a redelivered event is not
-- mailed twice. Deliberately no personal data (no address, no token, no name).

CREATE TABLE processed_events (
    event_id     uuid PRIMARY KEY,
    event_type   text NOT NULL,
    template     text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
