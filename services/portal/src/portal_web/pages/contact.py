"""/kontakt: the contact form; the confirmation names the case number."""

from __future__ import annotations

from aiohttp import web

from portal_web import sessions
from portal_web.domain import forms
from portal_web.domain.safety import case_number
from portal_web.pages.account import as_customer
from portal_web.pages.common import (
    apis,
    caller,
    form,
    form_page,
    redirect,
    throttled_form,
)
from portal_web.rendering import render

TEMPLATE = "contact.html"


async def show(request: web.Request) -> web.Response:
    values: dict[str, str] = {}
    session = sessions.current(request)
    if session is not None and session.logged_in:
        me = await as_customer(request, "GET", "/api/v1/auth/me")
        if me.ok:
            values = {k: str(me.body.get(k, "")) for k in ("customer_number", "email")}
            values["name"] = str(me.body.get("last_name", ""))
    return await form_page(request, TEMPLATE, values)


async def submit(request: web.Request) -> web.Response:
    posted = await form(request)
    errors = forms.missing(posted, forms.CONTACT, optional=("customer_number",))
    if errors:
        return await form_page(request, TEMPLATE, posted, errors)
    body = {k: posted[k].strip() for k in ("name", "email", "subject", "message")}
    if posted.get("customer_number", "").strip():
        body["customer_number"] = posted["customer_number"].strip()
    body["locale"] = caller(request).language
    answer = await apis(request).faq.call("POST", "/api/v1/contact", caller(request), body)
    if answer.status == 429:
        return await throttled_form(request, TEMPLATE, posted, "message", "too_many_requests", answer)
    if not answer.ok:
        return await form_page(request, TEMPLATE, posted,
                               forms.from_problem(answer.code, answer.field_errors(), forms.CONTACT))
    await sessions.set_flash(request, {"case_number": case_number(str(answer.body.get("id", "")))})
    return redirect("/kontakt/gesendet")


async def sent(request: web.Request) -> web.Response:
    flash = await sessions.pop_flash(request) or {}
    return await render(request, "contact_sent.html", {"case_number": flash.get("case_number", "")})
