"""„Mein Konto“: what auth knows of the customer, password change, e-mail change, log
out, deletion; and /email-bestaetigen, where the link to a new address is confirmed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from aiohttp import web

from portal_shared.problems import Handler
from portal_web import sessions
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
from portal_web.upstream import Answer


async def as_customer(
    request: web.Request, method: str, path: str, body: Mapping[str, Any] | None = None
) -> Answer:
    """Call auth with the customer's access token; one refresh when auth says the token
    is no longer good, and the end of the portal session when that fails too."""
    who = caller(request)
    token = await sessions.access_token(request, who)
    answer = await apis(request).auth.call(method, path, who, body, bearer=token)
    if answer.status == 401 and answer.code == "unauthorized":
        token = await sessions.refresh(request, who)
        answer = await apis(request).auth.call(method, path, who, body, bearer=token)
        if answer.status == 401 and answer.code == "unauthorized":
            await sessions.log_out(request, {"message": "session_expired"})
            raise sessions.LoginRequired(expired=True)
    return answer


async def _profile(request: web.Request) -> dict[str, Any]:
    answer = await as_customer(request, "GET", "/api/v1/auth/me")
    profile = dict(answer.body)
    try:
        profile["member_since"] = datetime.fromisoformat(str(profile.get("created_at")))
    except ValueError:
        profile["member_since"] = None
    return profile


async def _devices(request: web.Request) -> list[dict[str, Any]]:
    """The customer's open sessions as auth lists them, times parsed; [] if unreadable."""
    answer = await as_customer(request, "GET", "/api/v1/auth/me/sessions")
    found = answer.body.get("sessions", []) if answer.ok else []
    devices = []
    for item in found if isinstance(found, list) else []:
        try:
            devices.append({
                "id": str(UUID(str(item["id"]))),
                "device": str(item.get("device", "")),
                "place": str(item.get("place", "")),
                "created_at": datetime.fromisoformat(str(item["created_at"])),
                "last_used_at": datetime.fromisoformat(str(item["last_used_at"])),
                "current": item.get("current") is True,
            })
        except (KeyError, TypeError, ValueError):
            continue
    devices.sort(key=lambda d: not d["current"])  # this device first, then by last use
    return devices


async def _page(
    request: web.Request, posted: Mapping[str, str] | None = None, errors: list[forms.FieldError] | None = None,
    broken: list[str] | None = None, flash: Mapping[str, Any] | None = None,
    status: int | None = None, wait: int | None = None,
) -> web.Response:
    """Mein Konto, after a failed form with its errors, or with the last page's notice."""
    return await form_page(
        request, "account.html", posted, errors or [], status=status, wait=wait,
        profile=await _profile(request), rules=await password_rules(request), broken=broken or [],
        devices=await _devices(request),
        notice=(flash or {}).get("message"), notice_address=(flash or {}).get("address", ""),
    )


async def show(request: web.Request) -> web.Response:
    return await _page(request, flash=await sessions.pop_flash(request))


# The forms /konto posts to, and the section of /konto that holds each.
FORM_SECTIONS = {
    "/konto/passwort": "account-password",
    "/konto/email": "account-email",
    "/konto/geraete/abmelden": "account-devices",
    "/konto/geraete/andere-abmelden": "account-devices",
}


def to_section(section: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return redirect(f"/konto#{section}")

    return handler


async def change_password(request: web.Request) -> web.Response:
    posted = await form(request)
    errors = forms.missing(posted, forms.CHANGE_PASSWORD)
    errors += forms.confirmation(posted, "new_password", "new_password_confirm")
    if not errors:
        body = {"current_password": posted["current_password"], "new_password": posted["new_password"]}
        answer = await as_customer(request, "POST", "/api/v1/auth/me/password", body)
        if answer.ok:
            await sessions.set_flash(request, {"message": "password_changed"})
            return redirect("/konto")
        if answer.status == 429:
            errors = [forms.FieldError("current_password", "too_many_attempts")]
        else:
            fields = answer.field_errors()
            mapped = [("new_password", c) for f, c in fields if f in ("password", "new_password")]
            if answer.code == "current_password_invalid":  # its own text, as on the e-mail form
                mapped = [("current_password", answer.code)]
            errors = forms.from_problem(answer.code, mapped or fields, forms.CHANGE_PASSWORD)
            broken = forms.broken_rules(fields) if answer.code == "password_policy" else []
            return await _page(request, posted, errors, broken=broken)
    return await _page(request, posted, errors)


async def change_email(request: web.Request) -> web.Response:
    """POST /konto/email: auth mails a link to the new address; nothing changes before."""
    posted = await form(request)
    errors = forms.missing(posted, forms.CHANGE_EMAIL)
    if errors:
        return await _page(request, posted, errors)
    address = posted["new_email"].strip()
    body = {"new_email": address, "password": posted["email_password"]}
    answer = await as_customer(request, "POST", "/api/v1/auth/me/email", body)
    if answer.ok:
        await sessions.set_flash(request, {"message": "email_change_sent", "address": address})
        return redirect("/konto")
    if answer.status == 429:
        errors = [forms.FieldError("email_password", "too_many_attempts")]
        return await _page(request, posted, errors, status=429, wait=forms.wait_minutes(answer.retry_after()))
    # The API names `password` and `new_email`; on this page the password field of the
    # e-mail form is `email_password`.
    fields = [("email_password" if f == "password" else f, c) for f, c in answer.field_errors()]
    code = answer.code
    if code == "current_password_invalid":
        fields = [("email_password", code)]
    elif code == "email_unchanged":
        fields = [("new_email", code)]
    return await _page(request, posted, forms.from_problem(code, fields, forms.CHANGE_EMAIL))


async def show_email_confirmation(request: web.Request) -> web.Response:
    """GET /email-bestaetigen?token=…: a button that POSTs; opening the link changes nothing."""
    return await form_page(request, "email_confirm.html", token=request.query.get("token", "")[:200])


async def confirm_email(request: web.Request) -> web.Response:
    token = (await form(request)).get("token", "")[:200]
    if not token:
        return await render(request, "email_confirm_result.html", {"outcome": "invalid"}, status=400)
    answer = await apis(request).auth.call("POST", "/api/v1/auth/me/email/confirm", caller(request), {"token": token})
    if answer.ok:
        address = str(answer.body.get("email", ""))
        return await render(request, "email_confirm_result.html", {"outcome": "changed", "address": address})
    if answer.status == 429:
        return await busy_result(request, "email_confirm_result.html", answer)
    outcome = {410: "expired", 409: "taken"}.get(answer.status, "invalid")
    return await render(request, "email_confirm_result.html", {"outcome": outcome},
                        status=answer.status if outcome != "invalid" else 400)


async def end_device(request: web.Request) -> web.Response:
    """POST /konto/geraete/abmelden: end one of the customer's other sessions."""
    try:
        session_id = UUID((await form(request)).get("session_id", ""))
    except ValueError:
        return redirect("/konto")
    answer = await as_customer(request, "DELETE", f"/api/v1/auth/me/sessions/{session_id}")
    # 404: ended meanwhile (elsewhere, or by its own logout); the outcome is the same.
    if answer.ok or answer.status == 404:
        await sessions.set_flash(request, {"message": "device_logged_out"})
    return redirect("/konto")


async def end_other_devices(request: web.Request) -> web.Response:
    """POST /konto/geraete/andere-abmelden: end every session but this one."""
    answer = await as_customer(request, "POST", "/api/v1/auth/me/sessions/end-others")
    if answer.ok:
        await sessions.set_flash(request, {"message": "others_logged_out"})
    return redirect("/konto")


async def show_delete(request: web.Request) -> web.Response:
    await sessions.access_token(request, caller(request))  # logged in, or to the login page
    return await form_page(request, "delete.html")


async def delete(request: web.Request) -> web.Response:
    posted = await form(request)
    errors = forms.missing(posted, ("password",))
    if posted.get("confirm") != "yes":
        errors.append(forms.FieldError("confirm", "required"))
    if errors:
        return await form_page(request, "delete.html", posted, forms.in_form_order(errors, forms.DELETE_ACCOUNT))
    answer = await as_customer(request, "DELETE", "/api/v1/auth/me", {"password": posted["password"]})
    if answer.ok:
        await sessions.log_out(request)
        return redirect("/auf-wiedersehen")
    code = "too_many_attempts" if answer.status == 429 else "current_password_invalid"
    return await form_page(request, "delete.html", posted, [forms.FieldError("password", code)])


async def goodbye(request: web.Request) -> web.Response:
    return await render(request, "goodbye.html")
