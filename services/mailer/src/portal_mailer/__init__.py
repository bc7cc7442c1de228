"""Kundenportal mailer: turns events from the broker into mails, each mail at most once
(but for the window the README describes).

Reading order:
- entry points: `app` (factory and lifecycle: health, metrics, the consumer), `consumer`
  (takes each message off the mailer queue, hands it to `delivery`, applies the outcome:
  acknowledge, retry later, dead-letter), `cli` (`serve`, `migrate`, `dead-letters`);
- use cases: `delivery` (one message to its mails and an outcome), `rendering` (planned
  mail to MIME message, wording in `templates/`), `dead_letters` (the operator's list and
  replay);
- `domain/`: typed values and pure decisions, no I/O — `mails` (which mails an event
  leads to), `formatting`, `failures`, `outcomes`, `retry` (the retry policy);
- `pause`: delivery held while the SMTP server refuses the mailer's setup (login,
  certificate, EHLO name), probed until it accepts again;
- adapters: `repository/` (the record of sent mails), `smtp` (pooled connections, one
  login mechanism per try) and `smtp_errors` (which refusal is permanent, transient or
  the setup's), `topology` (the broker's queues), `settlement` and `copies`
  (publishing retry and dead-letter copies), `metrics`; `config` and `keys` hold
  settings and app keys;
- `migrations/`: the schema, plain SQL.
"""
