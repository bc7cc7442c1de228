"""/login and /logout.

Wrong data, a pending account and too many attempts each get their own clear message;
wrong address and wrong password are one message, as auth answers them alike.
"""

from __future__ import annotations

from aiohttp import web

from portal_web import sessions
from portal_web.domain import forms
from portal_web.domain.safety import local_path
from portal_web.pages.common import apis, caller, form, form_page, redirect

TEMPLATE = "login.html"


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
        return await form_page(request, TEMPLATE, posted, errors)
    body = {"email": posted["email"].strip(), "password": posted["password"]}
    answer = await apis(request).auth.call("POST", "/api/v1/auth/login", caller(request), body)
    if answer.ok:
        await sessions.log_in(request, answer)
        return redirect(local_path(posted.get("next")))
    if answer.status == 429:
        wait = forms.wait_minutes(answer.retry_after())
        return await form_page(request, TEMPLATE, posted, [forms.FieldError("email", "too_many_attempts")],
                               status=429, wait=wait)
    if answer.code not in ("invalid_credentials", "account_not_activated"):
        return await form_page(request, TEMPLATE, posted, [forms.FieldError("email", "invalid_credentials")],
                               status=401)
    return await form_page(request, TEMPLATE, posted, [forms.FieldError("email", answer.code)],
                           status=answer.status)


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
