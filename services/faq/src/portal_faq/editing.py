"""Changing the FAQ through the API, for callers holding the editor role. Each change is
one transaction that checks the editor's If-Match against the row it locked, writes the
row and its audit record, and (through the tables' triggers) tells every replica to drop
its cached answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from portal_faq.access import InvalidToken, KeysUnavailable
from portal_faq.context import FaqContext
from portal_faq.domain.editors import require_editor
from portal_faq.domain.errors import (
    AuthUnavailable,
    CategoryNotEmpty,
    CategoryNotFound,
    EntryNotFound,
    NotAuthenticated,
    PositionTaken,
    PreconditionFailed,
    PreconditionRequired,
    SlugTaken,
    UnknownCategory,
)
from portal_faq.domain.etags import precondition_holds, state_etag
from portal_faq.domain.models import StoredCategory, StoredEntry
from portal_faq.repository import content as rows
from portal_faq.repository import editing as repo
from portal_faq.repository import reading as reads
from portal_faq.schemas import CategoryBody, EntryBody, NewCategoryBody, NewEntryBody
from portal_shared.i18n import SUPPORTED
from portal_shared.web import bearer_token

_CONFLICTS: dict[str, type[SlugTaken | PositionTaken]] = {
    "entries_slug_key": SlugTaken,
    "categories_slug_key": SlugTaken,
    "entries_position_uniq": PositionTaken,
    "categories_position_uniq": PositionTaken,
}


async def authorise(ctx: FaqContext, authorization: str | None) -> str:
    """The account id of a caller holding the editor role, from their Authorization
    header: their token is checked with auth's keys, then auth is asked whether the
    session is still open and the role still held."""
    token = bearer_token(authorization)
    if token is None:
        raise NotAuthenticated(invalid_token=False)
    try:
        caller = await ctx.tokens.verify(token)
        # Settled without asking auth: a role granted since takes effect with the next
        # access token (login or refresh).
        require_editor(caller.roles)
        require_editor(await ctx.sessions.current_roles(token, caller.roles))
    except InvalidToken:
        raise NotAuthenticated(invalid_token=True) from None
    except KeysUnavailable:
        raise AuthUnavailable() from None
    return caller.account_id


async def create_entry(ctx: FaqContext, body: NewEntryBody, editor: str) -> None:
    async with _change(ctx) as conn:
        category = await _category_id(conn, body.category)
        await repo.insert_entry(conn, category, _entry_row(body.slug, body), editor)
        after = await reads.find_entry(conn, body.slug)
        await _record(conn, editor, "create", "entry", body.slug, None, after)


async def update_entry(
    ctx: FaqContext, slug: str, body: EntryBody, if_match: str | None, editor: str
) -> None:
    async with _change(ctx) as conn:
        before = await repo.lock_entry(conn, slug)
        if before is None:
            raise EntryNotFound(slug)
        _check_precondition(if_match, before)
        category = await _category_id(conn, body.category)
        await repo.update_entry(conn, category, _entry_row(slug, body), editor)
        after = await reads.find_entry(conn, slug)
        await _record(conn, editor, "update", "entry", slug, before, after)


async def delete_entry(ctx: FaqContext, slug: str, if_match: str | None, editor: str) -> None:
    async with _change(ctx) as conn:
        before = await repo.lock_entry(conn, slug)
        if before is None:
            raise EntryNotFound(slug)
        if if_match is not None:  # optional here: a deletion loses no one's edit
            _check_precondition(if_match, before)
        await repo.delete_entry(conn, slug)
        await _record(conn, editor, "delete", "entry", slug, before, None)


async def create_category(ctx: FaqContext, body: NewCategoryBody, editor: str) -> None:
    async with _change(ctx) as conn:
        await repo.insert_category(conn, _category_row(body.slug, body), editor)
        after = await reads.find_category(conn, body.slug)
        await _record(conn, editor, "create", "category", body.slug, None, after)


async def update_category(
    ctx: FaqContext, slug: str, body: CategoryBody, if_match: str | None, editor: str
) -> None:
    async with _change(ctx) as conn:
        before = await repo.lock_category(conn, slug)
        if before is None:
            raise CategoryNotFound(slug)
        _check_precondition(if_match, before)
        await repo.update_category(conn, _category_row(slug, body), editor)
        after = await reads.find_category(conn, slug)
        await _record(conn, editor, "update", "category", slug, before, after)


async def delete_category(
    ctx: FaqContext, slug: str, if_match: str | None, editor: str
) -> None:
    async with _change(ctx) as conn:
        before = await repo.lock_category(conn, slug)
        if before is None:
            raise CategoryNotFound(slug)
        if if_match is not None:
            _check_precondition(if_match, before)
        await repo.delete_category(conn, slug)
        await _record(conn, editor, "delete", "category", slug, before, None)


@asynccontextmanager
async def _change(ctx: FaqContext) -> AsyncIterator[asyncpg.Connection]:
    """A transaction whose constraint violations become domain errors. Positions are
    checked at commit (deferred), so the commit is inside the `try`."""
    try:
        async with ctx.pool.acquire() as conn, conn.transaction():
            yield conn
    except asyncpg.UniqueViolationError as exc:
        raise _CONFLICTS.get(exc.constraint_name or "", SlugTaken)() from None
    except asyncpg.ForeignKeyViolationError:
        raise CategoryNotEmpty() from None
    # The editor reads the result next: do not make them wait for the notification.
    ctx.cache.invalidate()


def current_etags(stored: StoredEntry | StoredCategory) -> set[str]:
    """Every language variant's tag: each covers the whole row, so any of them proves the
    editor saw the current state."""
    state = stored.state()
    return {state_etag(state, language) for language in SUPPORTED}


def _check_precondition(if_match: str | None, stored: StoredEntry | StoredCategory) -> None:
    if if_match is None:
        raise PreconditionRequired()
    if not precondition_holds(if_match, current_etags(stored)):
        raise PreconditionFailed()


async def _category_id(conn: asyncpg.Connection, slug: str) -> int:
    category = await repo.category_id(conn, slug)
    if category is None:
        raise UnknownCategory(slug)
    return category


def _entry_row(slug: str, body: EntryBody) -> rows.EntryRow:
    return rows.EntryRow.rendered(
        body.category, slug, body.position, body.question, body.answer,
        body.question_en, body.answer_en,
    )


def _category_row(slug: str, body: CategoryBody) -> rows.CategoryRow:
    return rows.CategoryRow(slug, body.title, body.title_en, body.position)


async def _record(
    conn: asyncpg.Connection,
    editor: str,
    action: str,
    subject: str,
    slug: str,
    before: StoredEntry | StoredCategory | None,
    after: StoredEntry | StoredCategory | None,
) -> None:
    await repo.record_change(conn, editor, action, subject, slug, _json(before), _json(after))


def _json(stored: StoredEntry | StoredCategory | None) -> str | None:
    state: dict[str, Any] | None = None if stored is None else stored.state()
    return None if state is None else json.dumps(state, default=str, ensure_ascii=False)
