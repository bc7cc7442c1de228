"""/login and /logout.

Wrong data and too many attempts from this address each get their own clear message;
a wrong address, a wrong password and a not yet activated account are one message, as
auth answers them alike (the activation link goes to the mailbox instead).

After several failures for an address, auth wants each further attempt to carry a
solved challenge: the page then embeds the check its script solves (`challenge`).
Auth's device token lives in a cookie of its own and goes with every login, so that
failures from elsewhere never make this browser solve one.
"""

from __future__ import annotations

from aiohttp import web

from portal_web import sessions
from portal_web.domain import forms
from portal_web.domain.safety import device_cookie_name, local_path
from portal_web.keys import CONTEXT
from portal_web.pages.common import (
    apis,
    caller,
    form,
    form_page,
    redirect,
    throttled_form,
)

TEMPLATE = "login.html"
DEVICE_COOKIE_MAX_AGE = 180 * 24 * 3600  # as long as auth honours the token


async def show(request: web.Request) -> web.Response:
    if (session := sessions.current(request)) and session.logged_in:
        return redirect(local_path(request.query.get("next")))
    flash = await sessions.pop_flash(request)
    notice = "session_expired" if request.query.get("abgelaufen") else (flash or {}).get("message")
    return await form_page(request, TEMPLATE, {"next": request.query.get("next", "")}, notice=notice)


async def submit(request: web.Request) -> web.Response:
    posted = await form(request)
    errors = forms.missing(posted, forms.LOGIN)
    errors = [e for e in errors if e.code == "required"]  # any address may be tried
    if errors:
        return await form_page(request, TEMPLATE, posted, errors, challenge=forms.had_challenge(posted))
    body = {"email": posted["email"].strip(), "password": posted["password"]}
    body.update(forms.challenge_fields(posted, device_token(request)))
    answer = await apis(request).auth.call("POST", "/api/v1/auth/login", caller(request), body)
    if answer.ok:
        await sessions.log_in(request, answer)
        response = redirect(local_path(posted.get("next")))
        _keep_device(request, response, answer.body.get("device_token"))
        return response
    if answer.status == 429:
        return await throttled_form(request, TEMPLATE, posted, "email", "too_many_attempts", answer)
    if answer.code == "challenge_required":
        return await form_page(request, TEMPLATE, posted, [forms.FieldError("password", "challenge_required")],
                               status=428, challenge=True)
    # Whatever else auth says, the page says "wrong data" (a pending account included).
    return await form_page(request, TEMPLATE, posted, [forms.FieldError("email", "invalid_credentials")],
                           status=401, challenge=answer.body.get("challenge_required") is True)


def device_token(request: web.Request) -> str | None:
    value = request.cookies.get(device_cookie_name(request.app[CONTEXT].settings.secure), "")
    return value if 0 < len(value) <= forms.MAX_DEVICE_TOKEN else None


def _keep_device(request: web.Request, response: web.Response, token: object) -> None:
    """Auth's device token in a long-lived cookie of its own: HttpOnly, this site only,
    sent only with requests from this site (SameSite=Strict; the login form is here)."""
    if not isinstance(token, str) or not 0 < len(token) <= forms.MAX_DEVICE_TOKEN:
        return
    secure = request.app[CONTEXT].settings.secure
    response.set_cookie(
        device_cookie_name(secure), token, max_age=DEVICE_COOKIE_MAX_AGE, path="/",
        secure=secure, httponly=True, samesite="Strict",
    )


async def confirm_logout(request: web.Request) -> web.Response:
    """GET /logout (a bookmark, a typed address): ask, with the form's button. Logging
    out by a plain GET would let any other site log the customer out with an image."""
    if not ((session := sessions.current(request)) and session.logged_in):
        return redirect("/login")
    return await form_page(request, "logout.html")


async def logout(request: web.Request) -> web.Response:
    session = sessions.current(request)
    if session is not None and session.tokens is not None:
        try:
            token = await sessions.access_token(request, caller(request))
            await apis(request).auth.call("POST", "/api/v1/auth/logout", caller(request), bearer=token)
        except sessions.LoginRequired:
            pass  # auth had ended it already
    await sessions.log_out(request, {"message": "logged_out"})
    return redirect("/login")
