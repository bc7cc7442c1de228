"""Who may edit the FAQ: holders of an auth access token with the editor role."""

from __future__ import annotations

from collections.abc import Collection

EDITOR_ROLE = "faq_editor"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header; None when there is none."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def may_edit(roles: Collection[str]) -> bool:
    return EDITOR_ROLE in roles
