"""Who may edit the FAQ: holders of an auth access token with the editor role."""

from __future__ import annotations

from collections.abc import Collection

from portal_faq.domain.errors import NotAnEditor, NotAuthenticated

EDITOR_ROLE = "faq_editor"


def may_edit(roles: Collection[str]) -> bool:
    return EDITOR_ROLE in roles


def require_editor(roles: Collection[str] | None) -> None:
    """Pass a caller whose roles include the editor's; `None` means their session has
    ended (logout, password reset, account deleted) since the token was issued."""
    if roles is None:
        raise NotAuthenticated(invalid_token=True)
    if not may_edit(roles):
        raise NotAnEditor()
