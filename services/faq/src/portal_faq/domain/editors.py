"""Who may edit the FAQ: holders of an auth access token with the editor role."""

from __future__ import annotations

from collections.abc import Collection

EDITOR_ROLE = "faq_editor"


def may_edit(roles: Collection[str]) -> bool:
    return EDITOR_ROLE in roles
