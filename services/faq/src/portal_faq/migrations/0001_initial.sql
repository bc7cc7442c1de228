-- FAQ service schema: categories and their entries (loaded from a TOML file), outbox.

CREATE TABLE categories (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    title       text NOT NULL,
    title_en    text,
    position    integer NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Deferred, so an import may swap two positions within one transaction.
    CONSTRAINT categories_position_uniq UNIQUE (position) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE entries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id         bigint NOT NULL REFERENCES categories (id),
    slug                text NOT NULL UNIQUE,
    question            text NOT NULL,
    answer_markdown     text NOT NULL,
    answer_html         text NOT NULL,             -- rendered and sanitised on import
    question_en         text,                      -- NULL: no translation, German is shown
    answer_en_markdown  text,
    answer_en_html      text,
    position            integer NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entries_position_uniq UNIQUE (category_id, position) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT entries_translation_whole CHECK (
        (question_en IS NULL) = (answer_en_markdown IS NULL)
        AND (answer_en_markdown IS NULL) = (answer_en_html IS NULL)
    )
);

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    routing_key  text NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now()
);
