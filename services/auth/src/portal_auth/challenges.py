"""Proof-of-work challenges as the use cases need them: hand one out, redeem a solution
once. The HMAC key comes from ALTCHA_HMAC_KEY, or is generated once for development."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from portal_auth.domain import challenges
from portal_auth.domain.limits import CHALLENGE_TTL
from portal_auth.repository import challenges as spent
from portal_shared.db import Executor

log = logging.getLogger(__name__)

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
    path = key_dir / DEV_KEY_FILE
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True)
        draft = key_dir / f".{DEV_KEY_FILE}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: a second process starting now keeps the first key
        except FileExistsError:
            pass
        else:
            log.warning("generated a development challenge key at %s; set ALTCHA_HMAC_KEY in production", path)
        finally:
            draft.unlink()
    return path.read_text().strip()
