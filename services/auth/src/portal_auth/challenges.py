"""Proof-of-work challenges as the use cases need them: hand one out, redeem a solution
once. The HMAC key comes from ALTCHA_HMAC_KEY, or is generated once for development."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from portal_auth.dev_keys import kept_dev_key
from portal_auth.domain import challenges
from portal_auth.domain.limits import CHALLENGE_TTL
from portal_auth.repository import challenges as spent
from portal_shared.db import Executor

DEV_KEY_FILE = "altcha-hmac.key"


@dataclass(frozen=True)
class Challenges:
    hmac_key: str
    max_number: int

    def create(self, now: datetime) -> dict[str, object]:
        return challenges.create(self.hmac_key, self.max_number, now, CHALLENGE_TTL)

    async def redeem(self, conn: Executor, payload: str | None, now: datetime) -> bool:
        """True once for a genuine, unexpired solution; False for anything else,
        including the same solution a second time."""
        solved = challenges.solved(payload or "", self.hmac_key, now)
        return solved is not None and await spent.spend(conn, solved.challenge, solved.expires_at)

    def device_key(self) -> bytes:
        """The key of device tokens: derived, so one secret serves both purposes."""
        return hmac.new(self.hmac_key.encode(), b"kundenportal device token", hashlib.sha256).digest()


def load_hmac_key(configured: str | None, key_dir: Path) -> str:
    """The configured key, or a development key generated once and kept in `key_dir`
    (beside the development JWT key), so challenges survive a restart."""
    if configured:
        return configured
    return kept_dev_key(key_dir, DEV_KEY_FILE, _new_hmac_key, "ALTCHA_HMAC_KEY").decode().strip()


def _new_hmac_key() -> bytes:
    return secrets.token_hex(32).encode()
