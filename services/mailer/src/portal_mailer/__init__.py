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
- adapters: `repository` (the record of sent mails), `smtp` (pooled connections),
  `topology` (the broker's queues), `settlement` and `copies` (publishing retry and
  dead-letter copies), `metrics`; `config` and `keys` hold settings and app keys;
- `migrations/`: the schema, plain SQL.
"""
