"""Strength 0–4 for live feedback while typing, from zxcvbn's guess estimate."""

from __future__ import annotations

from typing import Any

from portal_auth.domain.password_policy import PersonalData, normalise

# zxcvbn's matching grows faster than linearly with length; beyond this the score is 4
# anyway, and the estimate must stay cheap enough to run on every keystroke.
ESTIMATE_PREFIX = 64


def zxcvbn(password: str, user_inputs: list[str] | None = None) -> dict[str, Any]:
    """zxcvbn's estimate. Its word lists (~11 MiB) are imported on the first call: a
    replica that only logs customers in (no `/password/check`) need not hold them."""
    from zxcvbn import zxcvbn as estimate

    return estimate(password, user_inputs=user_inputs)


def strength(password: str, personal: PersonalData, violations: list[str]) -> int:
    if not password:
        return 0
    score = int(zxcvbn(normalise(password)[:ESTIMATE_PREFIX], user_inputs=personal.fragments())["score"])
    # A password the policy refuses is never shown as strong.
    return min(score, 1) if violations else score
