"""What the mails show, formatted for the reader (pure): moments in the portal's time
zone, a link's lifetime, portal links, and user input made fit for one line."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo


def portal_url(base_url: str, path: str, **query: str) -> str:
    """`base_url` + `path` (+ query): pydantic's HttpUrl ends in '/', paths start with one."""
    url = f"{base_url.rstrip('/')}{path}"
    return f"{url}?{urlencode(query, quote_via=quote, safe='')}" if query else url


_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def format_moment(moment: datetime, timezone: ZoneInfo, locale: str) -> str:
    """A point in time as the customer reads it, in the portal's time zone."""
    local = moment.astimezone(timezone)
    if locale == "de":
        return f"{local:%d.%m.%Y}, {local:%H:%M} Uhr"
    return f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year}, {local:%H:%M} {local.tzname()}"


# A token's lifetime is stated only when the event's timestamps make it plausible: the
# issuing service may run on a test clock, and a wrong "24 hours" is worse than none.
_PLAUSIBLE_VALIDITY = (timedelta(minutes=1), timedelta(days=31))


def format_validity(issued_at: datetime, expires_at: datetime, locale: str) -> str | None:
    lifetime = expires_at - issued_at
    if not _PLAUSIBLE_VALIDITY[0] <= lifetime <= _PLAUSIBLE_VALIDITY[1]:
        return None
    minutes = round(lifetime.total_seconds() / 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        unit = ("Stunde", "Stunden") if locale == "de" else ("hour", "hours")
        return f"{hours} {unit[hours != 1]}"
    unit = ("Minute", "Minuten") if locale == "de" else ("minute", "minutes")
    return f"{minutes} {unit[minutes != 1]}"


def one_line(text: str, max_chars: int) -> str:
    """User input made fit for a header or a subject: one line, bounded length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= max_chars else flat[: max_chars - 1].rstrip() + "…"


def display_name(name: str) -> str:
    """A name made fit to stand before an address: one line, no control characters."""
    return one_line("".join(c for c in name if c.isprintable() or c.isspace()), 100)
