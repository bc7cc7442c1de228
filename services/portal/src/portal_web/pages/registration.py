"""/registrieren → „Bitte bestätigen Sie Ihre Registrierung“ → /aktivieren, and
/registrieren/erneut-senden for a new activation link.

Known and unknown data look the same: auth answers 202 for both, and so does this page
(also the resend page, whether or not a registration is pending for the address).
The activation page never consumes the token on GET (mail scanners open links): the
customer presses „Konto aktivieren“, which POSTs it.
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
)
from portal_web.pages.passwords import password_rules
from portal_web.rendering import render

TEMPLATE = "register.html"
RESEND = "resend.html"


async def show(request: web.Request) -> web.Response:
    return await form_page(request, TEMPLATE, rules=await password_rules(request))


async def submit(request: web.Request) -> web.Response:
    posted = await form(request)
    typed = [name for name in forms.REGISTER if name not in forms.REGISTER_CONSENT]
    errors = forms.missing(posted, typed, optional=forms.REGISTER_OPTIONAL)
    errors += [forms.FieldError(box, "required") for box in forms.REGISTER_CONSENT if posted.get(box) != "yes"]
    if errors:
        return await _again(request, posted, forms.in_form_order(errors, forms.REGISTER),
                            challenge=forms.had_challenge(posted))
    body = {
        "last_name": posted["last_name"].strip(),
        "customer_number": posted["customer_number"].strip(),
        "email": posted["email"].strip(),
        "password": posted["password"],
        "accept_terms": True,
        "accept_privacy": True,
        "locale": caller(request).language,
        **forms.challenge_fields(posted),
    }
    if code := posted.get("registration_code", "").strip():
        body["registration_code"] = code
    answer = await apis(request).auth.call("POST", "/api/v1/auth/register", caller(request), body)
    if answer.ok:
        return redirect("/registrieren/bestaetigen")
    if answer.status == 429:
        return await _again(request, posted, [], status=429, wait=forms.wait_minutes(answer.retry_after()))
    if answer.code == "challenge_required":
        # After several wrong last names for this customer number: the page's script
        # solves a check, and the customer sends the form again.
        return await _again(request, posted, [forms.FieldError("password", "challenge_required")],
                            status=428, challenge=True)
    errors = forms.from_problem(answer.code, answer.field_errors(), forms.REGISTER)
    broken = forms.broken_rules(answer.field_errors()) if answer.code == "password_policy" else []
    challenge = answer.body.get("challenge_required") is True or forms.had_challenge(posted)
    return await _again(request, posted, errors, broken=broken, challenge=challenge)


async def _again(
    request: web.Request, posted: dict[str, str], errors: list[forms.FieldError],
    status: int | None = None, wait: int | None = None, broken: list[str] | None = None,
    challenge: bool = False,
) -> web.Response:
    return await form_page(
        request, TEMPLATE, posted, errors, status=status,
        rules=await password_rules(request), broken=broken or [], wait=wait, challenge=challenge,
    )


async def confirm(request: web.Request) -> web.Response:
    return await render(request, "register_sent.html")


async def show_activation(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    return await form_page(request, "activate.html", token=token[:200])


async def activate(request: web.Request) -> web.Response:
    token = (await form(request)).get("token", "")
    if not token:
        return await render(request, "activate_result.html", {"outcome": "invalid"}, status=400)
    answer = await apis(request).auth.call("POST", "/api/v1/auth/activate", caller(request), {"token": token})
    if answer.ok:
        return await render(request, "activate_result.html", {"outcome": "activated"})
    if answer.code == "already_activated":  # the link was used before: nothing went wrong
        return await render(request, "activate_result.html", {"outcome": "already_active"})
    if answer.status == 410:
        return await render(request, "activate_result.html", {"outcome": "expired"}, status=410)
    if answer.status == 429:
        return await busy_result(request, "activate_result.html", answer)
    return await render(request, "activate_result.html", {"outcome": "invalid"}, status=400)


async def show_resend(request: web.Request) -> web.Response:
    return await form_page(request, RESEND)


async def submit_resend(request: web.Request) -> web.Response:
    posted = await form(request)
    errors = forms.missing(posted, forms.RESEND)
    if errors:
        return await form_page(request, RESEND, posted, errors)
    body = {"email": posted["email"].strip()}
    answer = await apis(request).auth.call("POST", "/api/v1/auth/register/resend", caller(request), body)
    if answer.status == 429:
        wait = forms.wait_minutes(answer.retry_after())
        return await form_page(request, RESEND, posted, [forms.FieldError("email", "too_many_requests")],
                               status=429, wait=wait)
    if not answer.ok:
        return await form_page(request, RESEND, posted,
                               forms.from_problem(answer.code, answer.field_errors(), forms.RESEND))
    return redirect("/registrieren/erneut-senden/gesendet")


async def resend_sent(request: web.Request) -> web.Response:
    return await render(request, "resend_sent.html")
