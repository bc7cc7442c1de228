"""HTTP layer of the auth API: parse, call a use case, format."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from portal_auth import (
    accounts,
    activation,
    devices,
    email_change,
    recovery,
    registration,
    resend,
    sessions,
)
from portal_auth.access_tokens import AccessClaims
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import password_policy
from portal_auth.domain.limits import CHECK
from portal_auth.http_errors import answer_refusals
from portal_auth.keys import CONTEXT
from portal_auth.openapi import openapi_document
from portal_auth.problems import SESSION_NOT_FOUND
from portal_auth.schemas import (
    ActivateRequest,
    ChangeEmailRequest,
    ChangePasswordRequest,
    CheckPasswordRequest,
    ConfirmEmailRequest,
    DeleteAccountRequest,
    ForgotPasswordRequest,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    ResendActivationRequest,
    ResetLinkRequest,
    ResetPasswordRequest,
)
from portal_shared.problems import UNAUTHORIZED, Problem, parse_json_body
from portal_shared.web import CORRELATION_ID, bearer_token, client_ip, client_user_agent

PREFIX = "/api/v1/auth"
UUID_PATTERN = "[0-9a-fA-F-]{36}"
ACCEPTED = {"status": "accepted"}


def setup(app: web.Application) -> None:
    add = app.router
    add.add_post(f"{PREFIX}/register", register)
    add.add_post(f"{PREFIX}/register/resend", resend_activation)
    add.add_post(f"{PREFIX}/activate", activate)
    add.add_post(f"{PREFIX}/login", login)
    add.add_get(f"{PREFIX}/challenge", challenge)
    add.add_post(f"{PREFIX}/refresh", refresh)
    add.add_post(f"{PREFIX}/logout", logout)
    add.add_get(f"{PREFIX}/me", me)
    add.add_get(f"{PREFIX}/session", session)
    add.add_delete(f"{PREFIX}/me", delete_me)
    add.add_post(f"{PREFIX}/me/password", change_password)
    add.add_post(f"{PREFIX}/me/email", change_email)
    add.add_post(f"{PREFIX}/me/email/confirm", confirm_email)
    add.add_get(f"{PREFIX}/me/sessions", list_sessions)
    add.add_post(f"{PREFIX}/me/sessions/end-others", end_other_sessions)
    add.add_delete(f"{PREFIX}/me/sessions/{{session_id:{UUID_PATTERN}}}", end_session)
    add.add_post(f"{PREFIX}/password/forgot", forgot_password)
    add.add_post(f"{PREFIX}/password/reset", reset_password)
    add.add_post(f"{PREFIX}/password/reset/check", check_reset_link)
    add.add_get(f"{PREFIX}/password/policy", password_rules)
    add.add_post(f"{PREFIX}/password/check", check_password)
    add.add_get(f"{PREFIX}/openapi.json", openapi)
    add.add_get("/.well-known/jwks.json", jwks)
    app.middlewares.append(answer_refusals)
    app.on_response_prepare.append(_no_store)


def _ctx(request: web.Request) -> AuthContext:
    return request.app[CONTEXT]


def _caller(request: web.Request) -> Caller:
    trusted = _ctx(request).settings.trusted_proxies
    return Caller(
        ip=client_ip(request, trusted), correlation_id=request[CORRELATION_ID],
        user_agent=client_user_agent(request, trusted),
    )


async def _claims(request: web.Request) -> AccessClaims:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise Problem(UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return await sessions.authenticate(_ctx(request), token)


async def register(request: web.Request) -> web.Response:
    form = await parse_json_body(request, RegisterRequest)
    await registration.register(_ctx(request), form, _caller(request))
    return web.json_response(ACCEPTED, status=202)


async def resend_activation(request: web.Request) -> web.Response:
    body = await parse_json_body(request, ResendActivationRequest)
    await resend.resend(_ctx(request), body.email, _caller(request))
    return web.json_response(ACCEPTED, status=202)


async def activate(request: web.Request) -> web.Response:
    body = await parse_json_body(request, ActivateRequest)
    await activation.activate(_ctx(request), body.token, _caller(request))
    return web.json_response({"status": "activated"})


async def login(request: web.Request) -> web.Response:
    body = await parse_json_body(request, LoginRequest)
    logged_in = await sessions.login(
        _ctx(request), body.email, body.password, _caller(request), body.altcha, body.device_token
    )
    return web.json_response({**_token_body(logged_in.tokens), "device_token": logged_in.device_token})


async def challenge(request: web.Request) -> web.Response:
    """A fresh proof-of-work challenge (ALTCHA): solved, it goes with the next login or
    registration as `altcha`. Valid for 10 minutes, once."""
    ctx = _ctx(request)
    return web.json_response(ctx.challenges.create(ctx.clock()))


async def refresh(request: web.Request) -> web.Response:
    body = await parse_json_body(request, RefreshRequest)
    return _token_response(await sessions.refresh(_ctx(request), body.refresh_token, _caller(request)))


async def logout(request: web.Request) -> web.Response:
    await sessions.logout(_ctx(request), await _claims(request), _caller(request))
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    account = await sessions.profile(_ctx(request), await _claims(request))
    return web.json_response(
        {
            "customer_number": account.customer_number,
            "last_name": account.last_name,
            "email": account.email,
            "created_at": account.created_at.isoformat(),
        }
    )


async def session(request: web.Request) -> web.Response:
    """200 with the account's current roles while the bearer's session is open, 401 once
    it has ended: lets other services honour a logout, a password reset, a deletion or a
    revoked role before the access token itself expires."""
    roles = await sessions.current_roles(_ctx(request), await _claims(request))
    return web.json_response({"roles": list(roles)})


async def delete_me(request: web.Request) -> web.Response:
    claims = await _claims(request)
    body = await parse_json_body(request, DeleteAccountRequest)
    await accounts.delete(_ctx(request), claims, body.password, _caller(request))
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    claims = await _claims(request)
    body = await parse_json_body(request, ChangePasswordRequest)
    await recovery.change(_ctx(request), claims, body.current_password, body.new_password, _caller(request))
    return web.Response(status=204)


async def change_email(request: web.Request) -> web.Response:
    claims = await _claims(request)
    body = await parse_json_body(request, ChangeEmailRequest)
    await email_change.request(_ctx(request), claims, body.new_email, body.password, _caller(request))
    return web.json_response(ACCEPTED, status=202)


async def confirm_email(request: web.Request) -> web.Response:
    """The link from the mail to the new address; the token is the proof (no login needed:
    the customer may open the mail on another device)."""
    body = await parse_json_body(request, ConfirmEmailRequest)
    address = await email_change.confirm(_ctx(request), body.token, _caller(request))
    return web.json_response({"status": "email_changed", "email": address})


async def list_sessions(request: web.Request) -> web.Response:
    found = await devices.list_open(_ctx(request), await _claims(request))
    return web.json_response({"sessions": [
        {
            "id": str(s.id), "device": s.device, "place": s.place, "created_at": s.created_at.isoformat(),
            "last_used_at": s.last_used_at.isoformat(), "current": s.current,
        }
        for s in found
    ]})


async def end_session(request: web.Request) -> web.Response:
    claims = await _claims(request)
    try:
        session_id = UUID(request.match_info["session_id"])
    except ValueError:
        raise Problem(SESSION_NOT_FOUND) from None
    await devices.end_one(_ctx(request), claims, session_id, _caller(request))
    return web.Response(status=204)


async def end_other_sessions(request: web.Request) -> web.Response:
    await devices.end_others(_ctx(request), await _claims(request), _caller(request))
    return web.Response(status=204)


async def forgot_password(request: web.Request) -> web.Response:
    body = await parse_json_body(request, ForgotPasswordRequest)
    await recovery.forgot(_ctx(request), body.customer_number, body.email, _caller(request))
    return web.json_response(ACCEPTED, status=202)


async def reset_password(request: web.Request) -> web.Response:
    body = await parse_json_body(request, ResetPasswordRequest)
    await recovery.reset(_ctx(request), body.token, body.password, _caller(request))
    return web.json_response({"status": "password_changed"})


async def check_reset_link(request: web.Request) -> web.Response:
    body = await parse_json_body(request, ResetLinkRequest)
    await recovery.check_reset_link(_ctx(request), body.token, _caller(request))
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


async def password_rules(request: web.Request) -> web.Response:
    rules = [{"id": r.id, "de": r.text_de, "en": r.text_en} for r in password_policy.RULES]
    response = web.json_response(
        {
            "min_length": password_policy.MIN_LENGTH,
            "max_length": password_policy.MAX_LENGTH,
            "history": _ctx(request).settings.password_history_size,
            "rules": rules,
        }
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


async def check_password(request: web.Request) -> web.Response:
    """Live feedback while typing; stores and logs nothing of what it is given. The work
    runs beside the event loop, so other requests are not held up by it."""
    await _ctx(request).limit(CHECK, _caller(request).network)
    body = await parse_json_body(request, CheckPasswordRequest)
    personal = password_policy.PersonalData(
        body.last_name or "", body.email or "", body.customer_number or ""
    )
    result = await _ctx(request).passwords.assess(body.password, personal)
    return web.json_response(
        {"valid": not result.violations, "violations": result.violations, "strength": result.strength}
    )


async def openapi(request: web.Request) -> web.Response:
    response = web.json_response(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


async def jwks(request: web.Request) -> web.Response:
    response = web.json_response(_ctx(request).access_tokens.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _token_response(pair: sessions.TokenPair) -> web.Response:
    return web.json_response(_token_body(pair))


def _token_body(pair: sessions.TokenPair) -> dict[str, object]:
    return {
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
    }


async def _no_store(request: web.Request, response: web.StreamResponse) -> None:
    # Answers carry tokens and personal data: never cached by browsers or proxies.
    response.headers.setdefault("Cache-Control", "no-store")
