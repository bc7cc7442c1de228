"""HTTP layer of the auth API: parse, call the service, format."""

from __future__ import annotations

from aiohttp import web

from portal_auth import keys
from portal_auth.schemas import ActivateRequest, LoginRequest, RegisterRequest
from portal_shared.problems import UNAUTHORIZED, Problem, parse_json_body
from portal_shared.web import CORRELATION_ID

PREFIX = "/api/v1/auth"


def setup(app: web.Application) -> None:
    app.router.add_post(f"{PREFIX}/register", register)
    app.router.add_post(f"{PREFIX}/activate", activate)
    app.router.add_post(f"{PREFIX}/login", login)
    app.router.add_get(f"{PREFIX}/me", me)
    app.router.add_get("/.well-known/jwks.json", jwks)
    app.on_response_prepare.append(_no_store)


async def register(request: web.Request) -> web.Response:
    form = await parse_json_body(request, RegisterRequest)
    await request.app[keys.SERVICE].register(form, request[CORRELATION_ID])
    return web.json_response({"status": "accepted"}, status=202)


async def activate(request: web.Request) -> web.Response:
    body = await parse_json_body(request, ActivateRequest)
    await request.app[keys.SERVICE].activate(body.token)
    return web.json_response({"status": "activated"})


async def login(request: web.Request) -> web.Response:
    body = await parse_json_body(request, LoginRequest)
    pair = await request.app[keys.SERVICE].login(body.email, body.password)
    return web.json_response(
        {
            "access_token": pair.access_token,
            "token_type": "Bearer",
            "expires_in": pair.expires_in,
            "refresh_token": pair.refresh_token,
        }
    )


async def me(request: web.Request) -> web.Response:
    profile = await request.app[keys.SERVICE].profile(_bearer_token(request))
    return web.json_response(
        {
            "customer_number": profile["customer_number"],
            "last_name": profile["last_name"],
            "email": profile["email"],
            "created_at": profile["created_at"].isoformat(),
        }
    )


async def jwks(request: web.Request) -> web.Response:
    response = web.json_response(request.app[keys.ACCESS_TOKENS].jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


async def _no_store(request: web.Request, response: web.StreamResponse) -> None:
    # Answers carry tokens and personal data: never cached by browsers or proxies.
    response.headers.setdefault("Cache-Control", "no-store")
