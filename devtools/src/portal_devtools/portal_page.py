"""A stand-in for the portal frontend at PORTAL_BASE_URL, for `make dev` only.

Mailed links lead here. The page shows a button that POSTs the token to the auth API, so
opening a link (as mail scanners do) consumes nothing. `/api/…` is passed through to the
services, so the page and the API share one origin as they would behind the real portal.
"""

from __future__ import annotations

import html

import aiohttp
from aiohttp import web

UPSTREAMS = web.AppKey("upstreams", dict[str, str])
HTTP = web.AppKey("http", aiohttp.ClientSession)

_PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Kundenportal – {title}</title>
<style>body{{font-family:sans-serif;max-width:34rem;margin:3rem auto}}input,button{{font-size:1rem;padding:.4rem}}</style>
</head><body><h1>{title}</h1>{body}<pre id="result"></pre>
<script>
async function send(path, payload) {{
  const response = await fetch(path, {{method: "POST", headers: {{"Content-Type": "application/json"}},
                                      body: JSON.stringify(payload)}});
  const text = await response.text();
  document.getElementById("result").textContent = response.status + "\\n" + text;
}}
const token = new URLSearchParams(location.search).get("token") || "";
</script></body></html>"""

_ACTIVATE = """<p>Bitte bestätigen Sie die Aktivierung Ihres Benutzerkontos.</p>
<button onclick="send('/api/v1/auth/activate', {token})">Konto aktivieren</button>"""

_RESET = """<p>Vergeben Sie ein neues Passwort.</p>
<input id="password" type="password" autocomplete="new-password" placeholder="Neues Passwort">
<button onclick="send('/api/v1/auth/password/reset',
  {token, password: document.getElementById('password').value})">Passwort speichern</button>"""


_CONTACT = """<p>Ihre Frage wurde nicht beantwortet? Schreiben Sie uns.</p>
<p><input id="name" placeholder="Name"> <input id="email" type="email" placeholder="E-Mail-Adresse"></p>
<p><input id="customer_number" placeholder="Kundennummer (optional)"> <input id="subject" placeholder="Betreff"></p>
<p><textarea id="message" rows="6" cols="50" placeholder="Ihre Nachricht"></textarea></p>
<button onclick="const v = id => document.getElementById(id).value;
  send('/api/v1/contact', {name: v('name'), email: v('email'), subject: v('subject'),
       message: v('message'), customer_number: v('customer_number') || null})">Absenden</button>"""


def create_portal_page(auth_url: str, faq_url: str) -> web.Application:
    app = web.Application()
    app[UPSTREAMS] = {"/api/v1/auth": auth_url, "/api/v1/faq": faq_url, "/api/v1/contact": faq_url}
    app.cleanup_ctx.append(_http_session)
    app.router.add_get("/", _index)
    app.router.add_get("/aktivieren", _page("Konto aktivieren", _ACTIVATE))
    app.router.add_get("/passwort-zuruecksetzen", _page("Passwort zurücksetzen", _RESET))
    app.router.add_get("/kontakt", _page("Kontakt", _CONTACT))
    app.router.add_route("*", "/api/{tail:.*}", _proxy)
    return app


async def _http_session(app: web.Application):  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        app[HTTP] = session
        yield


async def _index(request: web.Request) -> web.Response:
    body = '<p>Entwicklungsseite. <a href="/api/v1/faq">FAQ (JSON)</a> · <a href="/kontakt">Kontakt</a></p>'
    return web.Response(text=_PAGE.format(title="Kundenportal", body=body), content_type="text/html")


def _page(title: str, body: str):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        page = _PAGE.format(title=html.escape(title), body=body)
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    return handler


async def _proxy(request: web.Request) -> web.StreamResponse:
    upstream = next(
        (url for prefix, url in request.app[UPSTREAMS].items() if request.path.startswith(prefix)), None
    )
    if upstream is None:
        raise web.HTTPNotFound()
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
    async with request.app[HTTP].request(
        request.method, upstream + request.rel_url.path_qs, headers=headers, data=await request.read()
    ) as answer:
        body = await answer.read()
        passed = {k: v for k, v in answer.headers.items() if k.lower() not in ("transfer-encoding", "content-length")}
        return web.Response(status=answer.status, body=body, headers=passed)
