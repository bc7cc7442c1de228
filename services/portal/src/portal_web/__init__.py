"""`portal-web`: the portal customers use — server-rendered German/English pages whose
server side calls the auth and FAQ APIs (backend for frontend; tokens stay here).

Reading order:
- `config.py` settings · `app.py` factory and lifecycle · `routes.py` the page paths ·
  `cli.py` `serve`, `migrate`
- `edge.py` what every request passes: security headers, session cookie, CSRF, error pages
- `pages/` one module per journey (parse the form, call an API, render)
- `sessions.py` the session use cases: start, log in/out (new id), token refresh
- `domain/` pure rules: session lifetime, forms and their errors, safe redirects
- adapters: `repository/` (SQL of the `portal` schema), `upstream.py` (auth and FAQ APIs),
  `rendering.py` (Jinja2 templates, `texts.toml`)
- `migrations/` plain SQL · `templates/`, `static/`, `content/` (operator-replaceable texts)
"""
