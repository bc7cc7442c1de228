"""/pruefung: a proof-of-work challenge for the login and registration pages' script.

After several failed attempts auth wants every further one to carry a solved challenge.
The page's script asks here (the browser never talks to auth), solves it in a Web
Worker and sends the solution with the form as `altcha`.
"""

from __future__ import annotations

from aiohttp import web

from portal_web.pages.common import apis, caller


async def challenge(request: web.Request) -> web.Response:
    answer = await apis(request).auth.call("GET", "/api/v1/auth/challenge", caller(request))
    if not answer.ok:
        return web.json_response({"available": False}, status=503)
    fields = ("algorithm", "challenge", "maxNumber", "salt", "signature")
    return web.json_response({k: answer.body.get(k) for k in fields})
