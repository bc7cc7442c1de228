"""„Passwort vergessen“ and the reset link the mailer sends.

The forgot page always shows the same confirmation: whether customer number and address
matched is told only to the mailbox that is on file.
"""

from __future__ import annotations

from aiohttp import web

from portal_web.domain import forms
from portal_web.pages.common import (
    apis,
    busy_result,
    caller,
    form,
    form_page,
    redirect,
    throttled_form,
)
from portal_web.pages.passwords import password_rules
from portal_web.rendering import render
from portal_web.upstream import Answer

FORGOT = "forgot.html"
RESET = "reset.html"


async def show_forgot(request: web.Request) -> web.Response:
    return await form_page(request, FORGOT)


async def submit_forgot(request: web.Request) -> web.Response:
    posted = await form(request)
    errors = forms.missing(posted, forms.FORGOT)
    if errors:
        return await form_page(request, FORGOT, posted, errors)
    body = {"customer_number": posted["customer_number"].strip(), "email": posted["email"].strip()}
    answer = await apis(request).auth.call("POST", "/api/v1/auth/password/forgot", caller(request), body)
    if answer.status == 429:
        return await throttled_form(request, FORGOT, posted, "customer_number", "too_many_requests", answer)
    if not answer.ok:
        return await form_page(request, FORGOT, posted,
                               forms.from_problem(answer.code, answer.field_errors(), forms.FORGOT))
    return redirect("/passwort-vergessen/gesendet")


async def forgot_sent(request: web.Request) -> web.Response:
    return await render(request, "forgot_sent.html")


async def show_reset(request: web.Request) -> web.Response:
    token = request.query.get("token", "")[:200]
    if token:
        # A used, unknown or old link says so now, not after a new password was typed
        # twice. Without a token (a reload: the page keeps it in the tab) the form shows;
        # so it does past the check's rate limit, where sending the form will tell.
        answer = await apis(request).auth.call(
            "POST", "/api/v1/auth/password/reset/check", caller(request), {"token": token}
        )
        if (refused := await _link_refused(request, answer)) is not None:
            return refused
    return await form_page(request, RESET, token=token, rules=await password_rules(request))


async def submit_reset(request: web.Request) -> web.Response:
    posted = await form(request)
    token = posted.get("token", "")[:200]
    errors = forms.missing(posted, forms.RESET) + forms.confirmation(posted, "password", "password_confirm")
    if not token:
        return await render(request, "reset_result.html", {"outcome": "invalid"}, status=400)
    if errors:
        return await form_page(request, RESET, posted, errors, token=token, rules=await password_rules(request))
    answer = await apis(request).auth.call(
        "POST", "/api/v1/auth/password/reset", caller(request), {"token": token, "password": posted["password"]}
    )
    if answer.ok:
        return redirect("/passwort-zuruecksetzen/fertig")
    if (refused := await _link_refused(request, answer)) is not None:
        return refused
    if answer.status == 429:
        return await busy_result(request, "reset_result.html", answer)
    errors = forms.from_problem(answer.code, answer.field_errors(), forms.RESET)
    return await form_page(request, RESET, posted, errors, token=token, rules=await password_rules(request),
                           broken=forms.broken_rules(answer.field_errors()))


async def _link_refused(request: web.Request, answer: Answer) -> web.Response | None:
    """The page for a link auth no longer takes (410 too old, 400 unknown or used)."""
    outcome = {410: "expired", 400: "invalid"}.get(answer.status)
    if outcome is None:
        return None
    return await render(request, "reset_result.html", {"outcome": outcome}, status=answer.status)


async def reset_done(request: web.Request) -> web.Response:
    return await render(request, "reset_result.html", {"outcome": "changed"})
