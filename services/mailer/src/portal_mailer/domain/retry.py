"""The retry policy: after a failed mail, try again later (after which pause) or give up.

Pure rules, no I/O. A message that failed for now is not put back at the head of the
queue: the consumer copies it to a delay queue whose TTL is the pause, and it comes back
to the mailer queue when it expires (see `topology`). The copy carries how many attempts
were made in `ATTEMPTS_HEADER`, because the broker's own delivery count starts again for
every copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from portal_mailer.domain.failures import PermanentFailure, SetupFailure
from portal_mailer.domain.outcomes import GiveUp, Hold, Retry

if TYPE_CHECKING:
    from portal_mailer.config import MailerSettings

ATTEMPTS_HEADER = "x-mailer-attempts"


@dataclass(frozen=True)
class RetryPolicy:
    delays: tuple[float, ...]
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: MailerSettings) -> RetryPolicy:
        return cls(tuple(settings.mailer_retry_delays_seconds), settings.mailer_max_attempts)

    def gives_up_after(self, attempt: int) -> bool:
        """True when attempt number `attempt` (1 = first try) was the last one allowed."""
        return attempt >= self.max_attempts

    def delay_after(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt`; the last delay repeats."""
        return self.delays[min(max(attempt, 1), len(self.delays)) - 1]


def after_failure(
    error: Exception, attempt: int, policy: RetryPolicy
) -> Retry | GiveUp | Hold:
    """What follows failed attempt number `attempt` of a mail.

    A refused setup (login, certificate, EHLO name) holds delivery and does not count as
    an attempt, however many were made; a permanent failure (the SMTP server refused the
    mail, it cannot be built) is given up at once; anything else (SMTP 4xx, server or
    database unreachable) is retried until the attempts allowed are used up.
    """
    if isinstance(error, SetupFailure):
        return Hold(error.reason, error.hint)
    if isinstance(error, PermanentFailure):
        return GiveUp(error.reason)
    if policy.gives_up_after(attempt):
        return GiveUp("retries_exhausted")
    return Retry(policy.delay_after(attempt))


def attempt_of(headers: Mapping[str, object] | None) -> int:
    """Which attempt this delivery is: 1 for a new message, n+1 after n failed ones.

    A header that is missing or not a sane count (hand-made or replayed messages) counts
    as a first attempt rather than failing the message.
    """
    made = (headers or {}).get(ATTEMPTS_HEADER, 0)
    if isinstance(made, bool) or not isinstance(made, int) or made < 0:
        return 1
    return made + 1
