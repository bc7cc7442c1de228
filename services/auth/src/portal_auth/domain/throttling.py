"""How long a login subject (an account, a client IP) is locked after failed attempts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockPolicy:
    free_failures: int            # failures allowed before the first lock
    first_lock: timedelta         # the first lock; each further failure doubles it
    max_lock: timedelta
    forget_after: timedelta = timedelta(hours=24)  # a quiet day starts the count anew


def lock_duration(policy: LockPolicy, failures: int) -> timedelta | None:
    if failures < policy.free_failures:
        return None
    doublings = min(failures - policy.free_failures, 20)
    return min(policy.max_lock, policy.first_lock * 2**doublings)


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds to wait (at least 1), for `Retry-After`."""
    return max(1, math.ceil((moment - now).total_seconds()))
