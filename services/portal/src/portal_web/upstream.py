"""The auth and FAQ APIs, as the portal's server side calls them.

Every call carries the customer's IP (`X-Forwarded-For`, so auth's and FAQ's throttles
count the customer, not the portal), the browser's User-Agent (`X-Client-User-Agent`,
for the customer's list of devices; the portal's own User-Agent stays its own), the page
language and the request id. An API that
does not answer, or answers 5xx, is `UpstreamUnavailable`: the page says "try again
later" instead of showing what went wrong.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict

from portal_shared.i18n import Language
from portal_shared.web import CLIENT_USER_AGENT_HEADER
from portal_web.domain.caching import public_max_age

log = logging.getLogger(__name__)


class UpstreamUnavailable(Exception):
    """An API did not answer in time, or failed on its side."""


@dataclass(frozen=True)
class Caller:
    """Who the portal is calling on behalf of."""

    ip: str
    language: Language
    request_id: str
    user_agent: str = ""  # the browser's, for the customer's list of devices


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        """The problem code of an error answer (`invalid_credentials`, …), else ""."""
        return str(self.body.get("code", "")) if not self.ok else ""

    def field_errors(self) -> list[tuple[str, str]]:
        return [
            (str(e.get("field", "")), str(e.get("code", "")))
            for e in self.body.get("errors", [])
            if isinstance(e, dict)
        ]

    def retry_after(self) -> int | None:
        try:
            return max(0, int(self.headers.get("Retry-After", "")))
        except ValueError:
            return None


@dataclass
class _Kept:
    answer: Answer
    etag: str | None
    max_age: int
    fresh_until: float


class PublicAnswers:
    """GET answers an API marks `public, max-age=N` (the FAQ, the password rules), kept
    for that long and then revalidated with their ETag — as a browser cache would, so a
    page costs no API round trip while the answer is fresh. Bounded (least recently
    used go first): search queries are many."""

    def __init__(self, entries: int = 1024) -> None:
        self._entries = entries
        self._kept: OrderedDict[tuple[str, ...], _Kept] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> _Kept | None:
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
        return kept

    def keep(self, key: tuple[str, ...], answer: Answer, max_age: int) -> None:
        self._kept[key] = _Kept(answer, answer.headers.get("ETag"), max_age, time.monotonic() + max_age)
        self._kept.move_to_end(key)
        while len(self._kept) > self._entries:
            self._kept.popitem(last=False)


class Api:
    def __init__(
        self, name: str, http: aiohttp.ClientSession, base_url: str, cache: PublicAnswers | None = None
    ) -> None:
        self.name = name
        self._http = http
        self._base = base_url.rstrip("/")
        self._cache = cache

    async def call(
        self,
        method: str,
        path: str,
        caller: Caller,
        body: Mapping[str, Any] | None = None,
        bearer: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Answer:
        headers = {
            "X-Forwarded-For": caller.ip,
            "Accept-Language": caller.language,
            "X-Request-ID": caller.request_id,
            "Accept": "application/json, application/problem+json",
        }
        if caller.user_agent:
            headers[CLIENT_USER_AGENT_HEADER] = caller.user_agent
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        cacheable = method == "GET" and bearer is None and self._cache is not None
        key = (path, *sorted(f"{k}={v}" for k, v in (query or {}).items()), caller.language)
        kept = self._cache.get(key) if cacheable and self._cache else None
        if kept is not None and kept.fresh_until > time.monotonic():
            return kept.answer
        if kept is not None and kept.etag:
            headers["If-None-Match"] = kept.etag
        try:
            async with self._http.request(
                method, self._base + path, json=body, headers=headers, params=query
            ) as response:
                raw = await response.read()
                answer = Answer(response.status, _json_object(raw), CIMultiDict(response.headers))
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("%s API unreachable on %s %s: %s", self.name, method, path, type(exc).__name__)
            raise UpstreamUnavailable(self.name) from None
        if answer.status >= 500:
            log.warning("%s API answered %s on %s %s", self.name, answer.status, method, path)
            raise UpstreamUnavailable(self.name)
        if cacheable and self._cache is not None:
            if answer.status == 304 and kept is not None:
                self._cache.keep(key, kept.answer, kept.max_age)
                return kept.answer
            max_age = public_max_age(answer.headers.get("Cache-Control"))
            if answer.status == 200 and max_age:
                self._cache.keep(key, answer, max_age)
        return answer


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Apis:
    auth: Api
    faq: Api
