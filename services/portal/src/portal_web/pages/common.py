"""Helpers every page module uses: who is calling, the posted form, answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from portal_shared.web import CORRELATION_ID, MAX_USER_AGENT_LENGTH, client_ip
from portal_web import sessions
from portal_web.domain.forms import FieldError, values_to_keep, wait_minutes
from portal_web.keys import CONTEXT, LANGUAGE
from portal_web.rendering import render
from portal_web.upstream import Answer, Apis, Caller


def apis(request: web.Request) -> Apis:
    return request.app[CONTEXT].apis


def caller(request: web.Request) -> Caller:
    settings = request.app[CONTEXT].settings
    return Caller(
        ip=client_ip(request, settings.trusted_proxies),
        language=request[LANGUAGE],  # type: ignore[arg-type]
        request_id=request[CORRELATION_ID],
        user_agent=request.headers.get("User-Agent", "")[:MAX_USER_AGENT_LENGTH],
    )


async def form(request: web.Request) -> dict[str, str]:
    """The posted fields as text (a file upload or repeated name is not a field we take)."""
    posted = await request.post()
    return {k: v for k, v in posted.items() if isinstance(v, str)}


def redirect(location: str) -> web.Response:
    """303: after a POST the browser GETs the next page, so reload does not resend."""
    return web.Response(status=303, headers={"Location": location})


async def form_page(
    request: web.Request,
    template: str,
    values: Mapping[str, str] | None = None,
    errors: Iterable[FieldError] = (),
    status: int | None = None,
    **context: Any,
) -> web.Response:
    """A page with a form: a session (for its CSRF token), the values the visitor typed
    (never passwords) and, after a failed post, the errors."""
    await sessions.ensure(request)
    error_list = list(errors)
    shown = dict(values_to_keep(values or {}))
    return await render(
        request,
        template,
        {
            "values": shown,
            "errors": error_list,
            "error_fields": {e.field: e.code for e in error_list},
            "wait": None,  # minutes to wait after a 429
            "broken": [],  # password rules the API named as broken
            "notice": None,
            "challenge": False,  # the check after failed attempts (login, registration)
            **context,
        },
        status=status if status is not None else (422 if error_list else 200),
    )


async def throttled_form(
    request: web.Request, template: str, posted: Mapping[str, str], field: str, code: str, answer: Answer
) -> web.Response:
    """The form again after the API answered 429: the field marked, and how long to wait."""
    wait = wait_minutes(answer.retry_after())
    return await form_page(request, template, posted, [FieldError(field, code)], status=429, wait=wait)


async def busy_result(request: web.Request, template: str, answer: Answer) -> web.Response:
    """A link page (activation, reset, e-mail confirmation) after the API answered 429."""
    wait = wait_minutes(answer.retry_after())
    return await render(request, template, {"outcome": "busy", "wait": wait}, status=429)
