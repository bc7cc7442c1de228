"""Sessions as pages use them: created when a form needs a CSRF token, rotated at login
and logout, refreshed against auth while the customer is logged in.

The middleware (`web_edge.session_middleware`) loads the session before a handler and
sends or clears the cookie after it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from portal_web.domain import session as rules
from portal_web.domain.session import Session, Tokens
from portal_web.keys import CONTEXT, COOKIE_CHANGED, SESSION
from portal_web.repository import sessions as repo
from portal_web.upstream import Answer, Caller


class LoginRequired(Exception):
    """The page needs a logged-in customer; `expired` when auth ended the session."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("login required")
        self.expired = expired


def current(request: web.Request) -> Session | None:
    return request.get(SESSION)


async def ensure(request: web.Request) -> Session:
    """The visitor's session, started now if there is none (forms need its CSRF token)."""
    session = current(request)
    if session is None:
        ctx = request.app[CONTEXT]
        session = rules.start(ctx.clock(), ctx.lifetime)
        await repo.insert(ctx.pool, session)
        _replace(request, session)
    return session


async def log_in(request: web.Request, answer: Answer) -> Session:
    """Replace whatever session the visitor had by a new one holding auth's tokens."""
    ctx = request.app[CONTEXT]
    return await _start_over(request, tokens=tokens_from(answer, ctx.clock()))


async def log_out(request: web.Request, flash: dict[str, Any] | None = None) -> Session:
    """End the session here; the visitor continues with a new, anonymous one."""
    return await _start_over(request, flash=flash)


async def _start_over(
    request: web.Request, tokens: Tokens | None = None, flash: dict[str, Any] | None = None
) -> Session:
    """A new session (new id, new CSRF token) in place of the current one, keeping only
    the language: a change of privilege never reuses an id someone may have seen."""
    ctx = request.app[CONTEXT]
    old = current(request)
    fresh = rules.start(ctx.clock(), ctx.lifetime, old.language if old else None)
    session = replace(fresh, tokens=tokens, flash=flash)
    async with ctx.pool.acquire() as conn, conn.transaction():
        if old is not None:
            await repo.delete(conn, old.id)
        await repo.insert(conn, session)
    _replace(request, session)
    return session


async def access_token(request: web.Request, caller: Caller) -> str:
    """A current access token of the logged-in customer, refreshed when it is about to
    expire; `LoginRequired` when there is no login or auth says the session is over."""
    session = current(request)
    if session is None or session.tokens is None:
        raise LoginRequired()
    ctx = request.app[CONTEXT]
    now = ctx.clock()
    if not rules.needs_refresh(session.tokens, now):
        return session.tokens.access_token
    return await refresh(request, caller)


async def refresh(request: web.Request, caller: Caller) -> str:
    """Trade the refresh token for a new pair; ends the session when auth refuses.

    One request at a time per session (the row is locked): refresh tokens rotate, and
    auth takes a second use of one as theft and ends the whole session — two tabs
    reloading together must not log the customer out.
    """
    session = current(request)
    if session is None or session.tokens is None:
        raise LoginRequired()
    ctx = request.app[CONTEXT]
    used = session.tokens.access_token
    tokens: Tokens | None = None
    async with ctx.pool.acquire() as conn, conn.transaction():
        stored = await repo.find_for_update(conn, session.id)
        if stored is not None and stored.tokens is not None:
            if stored.tokens.access_token != used and not rules.needs_refresh(stored.tokens, ctx.clock()):
                tokens = stored.tokens  # a parallel request has just refreshed them
            else:
                answer = await ctx.apis.auth.call(
                    "POST", "/api/v1/auth/refresh", caller, {"refresh_token": stored.tokens.refresh_token}
                )
                if answer.ok:
                    tokens = tokens_from(answer, ctx.clock())
                    await repo.store_tokens(conn, session.id, tokens)
    if tokens is None:
        await log_out(request, {"message": "session_expired"})
        raise LoginRequired(expired=True)
    request[SESSION] = replace(session, tokens=tokens)
    return tokens.access_token


async def set_language(request: web.Request, language: str) -> None:
    session = await ensure(request)
    await repo.set_language(request.app[CONTEXT].pool, session.id, language)


async def set_flash(request: web.Request, flash: dict[str, Any]) -> None:
    session = await ensure(request)
    await repo.set_flash(request.app[CONTEXT].pool, session.id, flash)


async def pop_flash(request: web.Request) -> dict[str, Any] | None:
    """The one-time message left by the previous page (a redirect's reason)."""
    session = current(request)
    if session is None or not session.flash:
        return None
    await repo.set_flash(request.app[CONTEXT].pool, session.id, None)
    request[SESSION] = replace(session, flash=None)
    return session.flash


def tokens_from(answer: Answer, now: datetime) -> Tokens:
    body = answer.body
    return Tokens(
        access_token=str(body["access_token"]),
        refresh_token=str(body["refresh_token"]),
        access_expires_at=now + timedelta(seconds=int(body.get("expires_in", 0))),
    )


def _replace(request: web.Request, session: Session) -> None:
    request[SESSION] = session
    request[COOKIE_CHANGED] = True
