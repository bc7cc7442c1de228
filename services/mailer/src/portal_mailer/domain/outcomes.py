"""How one message from the mailer queue ends: the handler decides, the consumer applies.

- `Sent`: every mail of the event is done (sent now, sent by an earlier delivery, or
  skipped because its link had expired): acknowledge the message.
- `Failed(Retry(delay), …)`: a mail failed for now: park a copy in the delay queue for
  `delay` seconds, then acknowledge the original.
- `Failed(GiveUp(reason), …)`: it can never become a mail: dead-letter it with `reason`.
- `Failed(Hold(reason, hint), …)`: the server refuses our setup (login, certificate,
  EHLO name): hand the message back unspent and pause delivery (`pause`) until the
  server accepts us again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

NO_TEMPLATE = "none"  # the message failed before any mail was planned


class MailResult(enum.Enum):
    """What became of one planned mail that did not fail."""

    SENT = "sent"
    DUPLICATE = "duplicate"  # sent before, by an earlier delivery of the same event
    EXPIRED = "expired"  # its link no longer works; not sent


def before_sending(claimed: bool, link_expired: bool) -> MailResult:
    """Whether a mail goes out, once its record is claimed in the sending transaction.

    Expiry is judged only after the claim, so a redelivery of a mail that went out in
    time counts as a duplicate, not as expired.
    """
    if not claimed:
        return MailResult.DUPLICATE
    return MailResult.EXPIRED if link_expired else MailResult.SENT


@dataclass(frozen=True)
class Sent:
    """Every mail of the event is done: acknowledge."""


@dataclass(frozen=True)
class Retry:
    """Try again after `delay` seconds (the copy waits in a delay queue)."""

    delay: float


@dataclass(frozen=True)
class GiveUp:
    """Dead-letter the message; `reason` becomes its x-death-reason header."""

    reason: str


@dataclass(frozen=True)
class Hold:
    """Pause delivery, the message back in the queue with no attempt spent."""

    reason: str
    hint: str


@dataclass(frozen=True)
class Failed:
    """A mail of the event (or the message itself) failed; `decision` says what follows."""

    decision: Retry | GiveUp | Hold
    template: str  # the mail that failed; NO_TEMPLATE when none was planned
    detail: str  # safe for logs and headers: our own summary, never a server's text
    attempt: int  # 1 for the first delivery


Outcome = Sent | Failed
