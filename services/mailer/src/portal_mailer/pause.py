"""Delivery paused while the SMTP server refuses our setup (login, certificate, EHLO name).

Such a failure is the same for every mail, and trying mail after mail would only spend
each one's retry budget (then dead-letter it) and, for a refused login, add one more
failed login per try at the provider, which may lock the account. So the first such
failure *holds* delivery: the consumer stops taking messages (they wait in the queue, in
their order, for this replica or any other that can send), the reason and a hint naming
the setting are logged, shown by `/readyz` and exported as a metric. Meanwhile a probe
opens a session as a mail would (connect, TLS, one login) with a growing pause between
tries; when the server accepts it, delivery resumes by itself — a password fixed at the
provider, or a certificate renewed, needs no restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from portal_mailer.domain.failures import MailFailure, SetupFailure
from portal_mailer.metrics import MailerMetrics

log = logging.getLogger(__name__)

# Between probes while paused: soon after the pause (an operator fixing the password is
# watching), then rarer, so a forgotten pause costs the account one failed login a minute.
FIRST_PROBE_SECONDS = 1.0
MAX_PROBE_SECONDS = 60.0

Probe = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Problem:
    reason: str  # a metric label, e.g. authentication_failed
    hint: str  # what to check, naming the setting
    detail: str  # error class and reply code, never the server's text

    @classmethod
    def of(cls, failure: SetupFailure) -> Problem:
        return cls(failure.reason, failure.hint, failure.detail)


def probe_delays(
    first: float = FIRST_PROBE_SECONDS, most: float = MAX_PROBE_SECONDS
) -> Iterator[float]:
    """1, 2, 4, … seconds, then `most` for ever."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)


class DeliveryPause:
    def __init__(
        self, probe: Probe, metrics: MailerMetrics, on_resume: Callable[[], None] = lambda: None
    ) -> None:
        self._probe = probe
        self._on_resume = on_resume
        self._metrics = metrics
        self.problem: Problem | None = None
        self.held = asyncio.Event()
        self.resumed = asyncio.Event()
        self.resumed.set()
        self._since = 0.0
        self._prober: asyncio.Task[None] | None = None

    @property
    def paused(self) -> bool:
        return self.problem is not None

    def hold(self, problem: Problem) -> None:
        """Pause delivery for `problem` (or note a new reason while paused)."""
        if self.problem is None:
            self._since = time.monotonic()
            self.resumed.clear()
            self.held.set()
            self._metrics.pauses.labels(problem.reason).inc()
            self._prober = asyncio.create_task(self._probe_until_accepted(), name="smtp-pause")
        elif self.problem.reason == problem.reason:
            return
        self.problem = problem
        self._metrics.show_pause(problem.reason)
        log.error("mail delivery paused, messages stay queued: %s (%s); %s",
                  problem.reason, problem.detail, problem.hint)

    def _resume(self) -> None:
        assert self.problem is not None
        log.warning("mail delivery resumed: the SMTP server accepts us again (paused %.0fs for %s)",
                    time.monotonic() - self._since, self.problem.reason)
        self.problem = None
        self._on_resume()
        self._metrics.show_pause(None)
        self.held.clear()
        self.resumed.set()

    async def _probe_until_accepted(self) -> None:
        for delay in probe_delays(FIRST_PROBE_SECONDS, MAX_PROBE_SECONDS):
            await asyncio.sleep(delay)
            try:
                await self._probe()
            except SetupFailure as exc:
                self.hold(Problem.of(exc))  # still refused, maybe for another reason now
                continue
            except MailFailure as exc:
                # Unreachable or busy: whether it would accept us is unknown, so stay
                # paused rather than let mails spend their retries on an outage.
                log.info("mail delivery still paused; probe: %s", exc.detail)
                continue
            except Exception:  # the prober must outlive its own bugs
                log.exception("mail delivery still paused; the probe failed")
                continue
            self._resume()
            return

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
