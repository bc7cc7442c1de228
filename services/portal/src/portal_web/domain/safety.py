"""Small pure rules that keep the portal's pages safe."""

from __future__ import annotations

from urllib.parse import quote, urlsplit
from uuid import UUID


def cookie_name(secure: bool) -> str:
    """`__Host-` binds the cookie to this exact origin, path `/`, https only; plain
    http (a developer's machine) cannot carry that prefix."""
    return "__Host-portal_session" if secure else "portal_session"


def device_cookie_name(secure: bool) -> str:
    """The second cookie: auth's device token, kept for months so that failed logins
    from elsewhere never make this browser solve a challenge (OWASP device cookies)."""
    return "__Host-portal_device" if secure else "portal_device"


def local_path(target: str | None, default: str = "/konto") -> str:
    """A redirect target after login: only a path on this site, never another host
    (`//evil.example`, `https://…`, `/\\evil`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target


def login_redirect(path_qs: str, expired: bool) -> str:
    location = f"/login?next={quote(local_path(path_qs), safe='/')}"
    return location + ("&abgelaufen=1" if expired else "")


def case_number(contact_id: str) -> str:
    """The reference a customer quotes to support; the mailer shows the same."""
    try:
        return UUID(contact_id).hex[:8].upper()
    except ValueError:
        return ""
