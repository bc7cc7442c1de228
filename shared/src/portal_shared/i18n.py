"""Language negotiation: German first, English when the client prefers it."""

from __future__ import annotations

from typing import Literal

Language = Literal["de", "en"]
SUPPORTED: tuple[Language, ...] = ("de", "en")
DEFAULT: Language = "de"


def negotiate(accept_language: str | None, explicit: str | None = None) -> Language:
    """Pick `de` or `en` from an explicit choice (`?lang=`) or an Accept-Language header.

    The header's quality values decide; ties and unknown languages fall back to German.
    """
    if explicit:
        primary = explicit.strip().lower().split("-")[0]
        if primary in SUPPORTED:
            return primary  # type: ignore[return-value]
    best: Language = DEFAULT
    best_q = 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in SUPPORTED:
            continue
        q = _quality(params)
        if q > best_q or (q == best_q and primary == DEFAULT):
            best, best_q = primary, q  # type: ignore[assignment]
    return best


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0
