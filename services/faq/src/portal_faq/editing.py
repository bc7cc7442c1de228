"""Changing the FAQ through the API: each change is one transaction that checks the
editor's If-Match against the row it locked, writes the row and its audit record, and
(through the tables' triggers) tells every replica to drop its cached answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from portal_faq.cache import ResponseCache
from portal_faq.domain.etags import precondition_holds, state_etag
from portal_faq.problems import (
    CATEGORY_NOT_EMPTY,
    FAQ_CATEGORY_NOT_FOUND,
    FAQ_ENTRY_NOT_FOUND,
    POSITION_TAKEN,
    PRECONDITION_FAILED,
    PRECONDITION_REQUIRED,
    SLUG_TAKEN,
)
from portal_faq.repository import content as rows
from portal_faq.repository import editing as repo
from portal_faq.repository import reading as reads
from portal_faq.schemas import CategoryBody, EntryBody, NewCategoryBody, NewEntryBody
from portal_shared.i18n import SUPPORTED
from portal_shared.problems import VALIDATION_ERROR, FieldError, Problem

_CONFLICTS = {
    "entries_slug_key": SLUG_TAKEN,
    "categories_slug_key": SLUG_TAKEN,
    "entries_position_uniq": POSITION_TAKEN,
    "categories_position_uniq": POSITION_TAKEN,
}


class Editing:
    def __init__(self, pool: asyncpg.Pool, cache: ResponseCache) -> None:
        self._pool = pool
        self._cache = cache

    async def create_entry(self, body: NewEntryBody, editor: str) -> None:
        async with self._change() as conn:
            category = await _category_id(conn, body.category)
            await repo.insert_entry(conn, category, _entry_row(body.slug, body), editor)
            after = await reads.find_entry(conn, body.slug)
            await _record(conn, editor, "create", "entry", body.slug, None, after)

    async def update_entry(
        self, slug: str, body: EntryBody, if_match: str | None, editor: str
    ) -> None:
        async with self._change() as conn:
            before = await repo.lock_entry(conn, slug)
            if before is None:
                raise Problem(FAQ_ENTRY_NOT_FOUND)
            _check_precondition(if_match, before)
            category = await _category_id(conn, body.category)
            await repo.update_entry(conn, category, _entry_row(slug, body), editor)
            after = await reads.find_entry(conn, slug)
            await _record(conn, editor, "update", "entry", slug, before, after)

    async def delete_entry(self, slug: str, if_match: str | None, editor: str) -> None:
        async with self._change() as conn:
            before = await repo.lock_entry(conn, slug)
            if before is None:
                raise Problem(FAQ_ENTRY_NOT_FOUND)
            if if_match is not None:  # optional here: a deletion loses no one's edit
                _check_precondition(if_match, before)
            await repo.delete_entry(conn, slug)
            await _record(conn, editor, "delete", "entry", slug, before, None)

    async def create_category(self, body: NewCategoryBody, editor: str) -> None:
        async with self._change() as conn:
            await repo.insert_category(conn, _category_row(body.slug, body), editor)
            after = await reads.find_category(conn, body.slug)
            await _record(conn, editor, "create", "category", body.slug, None, after)

    async def update_category(
        self, slug: str, body: CategoryBody, if_match: str | None, editor: str
    ) -> None:
        async with self._change() as conn:
            before = await repo.lock_category(conn, slug)
            if before is None:
                raise Problem(FAQ_CATEGORY_NOT_FOUND)
            _check_precondition(if_match, before)
            await repo.update_category(conn, _category_row(slug, body), editor)
            after = await reads.find_category(conn, slug)
            await _record(conn, editor, "update", "category", slug, before, after)

    async def delete_category(self, slug: str, if_match: str | None, editor: str) -> None:
        async with self._change() as conn:
            before = await repo.lock_category(conn, slug)
            if before is None:
                raise Problem(FAQ_CATEGORY_NOT_FOUND)
            if if_match is not None:
                _check_precondition(if_match, before)
            await repo.delete_category(conn, slug)
            await _record(conn, editor, "delete", "category", slug, before, None)

    @asynccontextmanager
    async def _change(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction whose constraint violations become problems. Positions are
        checked at commit (deferred), so the commit is inside the `try`."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                yield conn
        except asyncpg.UniqueViolationError as exc:
            raise Problem(_CONFLICTS.get(exc.constraint_name or "", SLUG_TAKEN)) from None
        except asyncpg.ForeignKeyViolationError:
            raise Problem(CATEGORY_NOT_EMPTY) from None
        # The editor reads the result next: do not make them wait for the notification.
        self._cache.invalidate()


def current_etags(row: Mapping[str, Any]) -> set[str]:
    """Every language variant's tag: each covers the whole row, so any of them proves the
    editor saw the current state."""
    return {state_etag(row, language) for language in SUPPORTED}


def _check_precondition(if_match: str | None, row: Mapping[str, Any]) -> None:
    if if_match is None:
        raise Problem(PRECONDITION_REQUIRED)
    if not precondition_holds(if_match, current_etags(row)):
        raise Problem(PRECONDITION_FAILED)


async def _category_id(conn: asyncpg.Connection, slug: str) -> int:
    category = await repo.category_id(conn, slug)
    if category is None:
        raise Problem(VALIDATION_ERROR, [FieldError("category", "unknown_category")])
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
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    await repo.record_change(conn, editor, action, subject, slug, _json(before), _json(after))


def _json(row: Mapping[str, Any] | None) -> str | None:
    return None if row is None else json.dumps(dict(row), default=str, ensure_ascii=False)
