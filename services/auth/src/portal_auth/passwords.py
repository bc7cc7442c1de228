"""Argon2id hashing, off the event loop.

Parameters follow the OWASP Password Storage Cheat Sheet (m=19 MiB, t=2, p=1). Hashing
runs in a small thread pool: argon2 releases the GIL, and a bounded pool keeps a burst of
logins from allocating unbounded memory.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from portal_auth.domain.password_policy import normalise

OWASP_PARAMETERS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}


class Passwords:
    def __init__(self, workers: int | None = None, **parameters: int) -> None:
        self._hasher = PasswordHasher(type=Type.ID, **(parameters or OWASP_PARAMETERS))
        self._pool = ThreadPoolExecutor(
            max_workers=workers or os.cpu_count() or 2, thread_name_prefix="argon2"
        )
        # Verifying against this when an account does not exist makes the miss cost the
        # same as a wrong password, so timing does not tell which one happened.
        self._dummy_hash = self._hasher.hash(os.urandom(16).hex())

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, normalise(password))

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        return await self._run(self._verify, stored_hash, normalise(password))

    async def matches_any(self, stored_hashes: list[str], password: str) -> bool:
        """Whether `password` is one of these (the password history)."""
        results = await asyncio.gather(*(self.verify(h, password) for h in stored_hashes))
        return any(results)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(stored_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return stored_hash is not None

    async def _run(self, fn, *args):  # type: ignore[no-untyped-def]
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
