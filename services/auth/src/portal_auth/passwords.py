"""Password work, off the event loop: argon2id hashing and the live policy check.

Parameters are one of the five argon2id settings the OWASP Password Storage Cheat Sheet
lists as equally strong: m=7 MiB, t=5, p=1, the one with the least memory. Against its
m=19 MiB, t=2 it costs a quarter less CPU here (15 vs 20 ms: the 7 MiB stay in cache)
and 12 MiB less per hash in flight, which keeps auth under 100 MiB while two hash
(bench/footprint.py). Hashes with other parameters still verify, and are upgraded at the
next login (`needs_rehash`). Hashing runs in a small thread pool: argon2 releases the
GIL, and a bounded pool keeps a burst of logins from allocating unbounded memory.

The check behind `/password/check` (the rules and zxcvbn's strength estimate, 18–70 ms
of pure Python per call) runs in a pool of its own with one thread: it holds the GIL,
so more threads would not make it faster, only contend with the event loop for the
interpreter. Beside one thread the loop gets its turn every few milliseconds instead of
waiting for whole checks, and a burst of checks cannot take the threads logins need.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from portal_auth.domain import password_policy
from portal_auth.domain.password_policy import PersonalData, normalise
from portal_auth.domain.password_strength import strength

OWASP_PARAMETERS = {"time_cost": 5, "memory_cost": 7 * 1024, "parallelism": 1}
CHECK_WORKERS = 1  # see above: the work holds the GIL


@dataclass(frozen=True)
class Assessment:
    violations: list[str]  # rule ids, in the policy's order
    strength: int  # 0–4


def assess(password: str, personal: PersonalData) -> Assessment:
    broken = password_policy.violations(password, personal)
    return Assessment(broken, strength(password, personal, broken))


class Passwords:
    def __init__(self, workers: int | None = None, **parameters: int) -> None:
        self._hasher = PasswordHasher(type=Type.ID, **(parameters or OWASP_PARAMETERS))
        self._pool = ThreadPoolExecutor(
            max_workers=workers or os.cpu_count() or 2, thread_name_prefix="argon2"
        )
        self._checks = ThreadPoolExecutor(max_workers=CHECK_WORKERS, thread_name_prefix="password-check")
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

    async def assess(self, password: str, personal: PersonalData) -> Assessment:
        """Which rules `password` breaks and how strong it is, for live feedback."""
        return await asyncio.get_running_loop().run_in_executor(self._checks, assess, password, personal)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._checks.shutdown(wait=False, cancel_futures=True)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(stored_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return stored_hash is not None

    async def _run(self, fn, *args):  # type: ignore[no-untyped-def]
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
