"""How failed attempts slow down further ones.

Per guessing target (an account, a customer number, a known device) failures never
lock anyone out: past a few free ones, every further attempt must carry a solved
proof-of-work challenge, which costs a person's browser about a second and a guessing
machine the same work on every single guess. Per client IP, failures still lock that
IP for a while (the owner is almost never behind the attacker's address).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockPolicy:
    free_failures: int            # failures allowed before the first lock
    first_lock: timedelta         # the first lock; each further failure doubles it
    max_lock: timedelta
    forget_after: timedelta = timedelta(hours=24)  # a quiet day starts the count anew


@dataclass(frozen=True)
class ChallengePolicy:
    free_failures: int            # failures before attempts need a solved challenge
    forget_after: timedelta = timedelta(hours=24)  # a quiet day starts the count anew


@dataclass(frozen=True, slots=True)
class FailureCount:
    """What is on file for one guessing target or IP."""

    failures: int
    last_failure_at: datetime
    locked_until: datetime | None


def failures_counted(count: FailureCount | None, now: datetime, forget_after: timedelta) -> int:
    """Failures that still count: none once the last one is older than `forget_after`."""
    if count is None or count.last_failure_at < now - forget_after:
        return 0
    return count.failures


def lock_duration(policy: LockPolicy, failures: int) -> timedelta | None:
    if failures < policy.free_failures:
        return None
    doublings = min(failures - policy.free_failures, 20)
    return min(policy.max_lock, policy.first_lock * 2**doublings)


def needs_challenge(policy: ChallengePolicy, failures: int) -> bool:
    """Whether the next attempt, after `failures` counted ones, must carry a solution."""
    return failures >= policy.free_failures


def threshold_reached_now(policy: ChallengePolicy, failures: int) -> bool:
    """True for the one failure that makes challenges necessary (the moment to tell
    an account's owner)."""
    return failures == policy.free_failures


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds to wait (at least 1), for `Retry-After`."""
    return max(1, math.ceil((moment - now).total_seconds()))


def lock_wait(locked_until: Iterable[datetime | None], now: datetime) -> int | None:
    """Seconds until the last of these locks ends (for `Retry-After`); None when none
    holds any more."""
    holding = [until for until in locked_until if until is not None and until > now]
    return seconds_until(max(holding), now) if holding else None
