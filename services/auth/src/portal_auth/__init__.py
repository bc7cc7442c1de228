"""Kundenportal auth: registration, login and everything around an account.

Read in this order:

Entry points
    `app`          the application factory and its lifecycle (`cleanup_ctx`: pool, outbox
                   relay, periodic `maintenance`); `keys` the typed AppKeys; `config` the
                   settings; `context` what every use case gets (`AuthContext`, `Caller`).
    `routes`       the HTTP API: parse (`schemas`), call one use case, format the answer;
                   `http_errors` answers the use cases' refusals (`domain.errors`) with
                   problem+json (`problems` is their catalogue), `openapi` documents it.
    `cli`          `portal-auth serve | migrate | import-customers | grant-role | …`.

Use cases, one module per capability (each owns its transactions)
    `registration` → `activation` → `resend` (a new activation link);
    `sessions` (login, refresh, logout, who a bearer is) and `devices` (the customer's
    open sessions); `recovery` (forgotten and changed passwords); `email_change`;
    `accounts` (deletion, roles); `holders` (support: who holds a customer number, and
    releasing it) and `master_data` (the customer import); `maintenance` (purges).
    Shared by them: `throttle` (counting guesses, challenges, locks) and `timing`
    (answers that take the same time whichever way they went).

`domain/`   typed models (`accounts.Account`, `AccountStatus`) and the rules as pure
            functions: `login`, `ownership`, `throttling`, `session_lifetime`,
            `password_policy`, `tokens`, … and `errors`, why a use case refuses. No I/O.

Adapters
    `repository/`  the SQL, one short named statement per query, returning domain types;
                   functions take a connection, the caller owns the transaction.
    `passwords`    argon2id hashing and the live policy check, on thread pools.
    `access_tokens` Ed25519-signed JWTs and the JWKS; `challenges` ALTCHA proof-of-work
                   with its key and single use. Events leave through the shared outbox
                   (`portal_shared.outbox`).

`migrations/`  the schema, applied in file order by `portal-auth migrate`.
"""
