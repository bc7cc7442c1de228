"""Entity tags and the conditional-request rules (RFC 9110, section 13).

Lists and search answers are tagged by their bytes. An entry or a category is tagged by
its whole stored state plus the language shown: an editor's `If-Match` then proves that
nothing of the row changed, in either language, whichever variant the editor read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

# Part of every state tag: raise it when the JSON the views build changes shape, so a
# client's cached copy is not confirmed by a 304 after a deployment.
REPRESENTATION_VERSION = 1


def body_etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def state_etag(state: Mapping[str, Any], language: str) -> str:
    canonical = json.dumps(dict(state), sort_keys=True, default=str, ensure_ascii=False)
    digest = hashlib.sha256(f"{REPRESENTATION_VERSION}\n{canonical}".encode()).hexdigest()
    return f'"{digest[:32]}-{language}"'


def parse_etags(header: str) -> list[str]:
    """The tags of an If-Match / If-None-Match list, as written (`W/` kept)."""
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def not_modified(if_none_match: str | None, current: str) -> bool:
    """If-None-Match uses weak comparison: `W/"x"` matches `"x"`."""
    if not if_none_match:
        return False
    tags = parse_etags(if_none_match)
    return "*" in tags or current in {tag.removeprefix("W/") for tag in tags}


def precondition_holds(if_match: str, current: Collection[str]) -> bool:
    """If-Match uses strong comparison: a weak tag never matches. `*`: the row exists."""
    tags = parse_etags(if_match)
    return "*" in tags or any(tag in current for tag in tags if not tag.startswith("W/"))
