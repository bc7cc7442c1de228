"""Kundenportal FAQ: the public FAQ and its search, editing by faq_editors, the contact form.

Reading order:

- Entry points: `app` (factory and lifecycle: pool, outbox relay, the one `FaqContext`
  under `keys.CONTEXT`, the content listener), `routes` (parse, call a use case, format;
  domain errors become problem+json through `problems`), `cli` (`serve`, `migrate`,
  `import`), `openapi` (the document `routes` serves).
- Use cases, one module per capability, each a set of functions of the `context`:
  `reading` (FAQ, entry, category), `search` (in-memory index or database), `editing`
  (who may edit, and each change in one transaction), `contacts` (the contact form).
- `domain/`: typed models (`models`) and pure decisions with no I/O (`etags`, `editors`,
  `search`, `search_index`, `contact`), and the domain `errors`.
- Adapters: `repository/` (short named SQL returning `domain.models`), `access` (auth's
  JWKS and session check), `cache` (rendered answers, the content listener),
  `indexing` (the replica's search index), `views` (the JSON shapes), `content` and
  `seed` (the packaged FAQ and `portal-faq import`).
- `migrations/`: the schema, applied in file order by `portal-faq migrate`.
"""
