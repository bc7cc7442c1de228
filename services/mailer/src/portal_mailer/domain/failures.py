"""What can go wrong with a mail, said safely, and which failures are permanent (pure).

Adapters raise subclasses of `MailFailure` (the SMTP client's `SmtpError`), whose
`detail` is our own summary: never a server's free text (SMTP replies echo addresses,
PostgreSQL's DETAIL shows row values). A `PermanentFailure` gives the same result on
every try, so the retry policy gives up on it at once, with its `reason`.
"""

from __future__ import annotations

from typing import ClassVar

from portal_shared.email_address import InvalidAddress, UnsupportedAddress


class MailFailure(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PermanentFailure(MailFailure):
    """Trying again gives the same result; `reason` is the dead letter's x-death-reason."""

    reason: ClassVar[str]


class SetupFailure(MailFailure):
    """Our setup is refused (the SMTP login, its certificate as we verify it, our EHLO
    name): the same for every mail until an operator or the provider fixes it. Not the
    mail's fault, so it spends none of its attempts: delivery pauses (`Hold`)."""

    def __init__(self, detail: str, reason: str, hint: str) -> None:
        super().__init__(detail)
        self.reason = reason  # machine-readable, a metric label
        self.hint = hint  # what to check, naming the setting


class RenderFailed(PermanentFailure):
    """The mail cannot be built from this event; trying again gives the same result."""

    reason = "render_failed"

    def __init__(self, what: str) -> None:
        super().__init__(f"render: {what}")


class UnsendableAddress(RenderFailed):
    """An address of the mail has no form SMTP can carry: not an address, or one whose
    local part is not ASCII (which the APIs refuse; older events may still hold one)."""

    reason = "unsendable_address"


def build_failure(error: Exception) -> RenderFailed:
    """What a failure to build a mail (plan, render, encode, address) is: permanent."""
    if isinstance(error, UnsupportedAddress):
        return UnsendableAddress("recipient: not ASCII before the @")
    if isinstance(error, InvalidAddress):
        return UnsendableAddress("recipient: not an address")
    return RenderFailed(type(error).__name__)


def failure_detail(error: Exception) -> str:
    """What a log line or dead letter says about a failure: our own summary or the error's
    class, never the error's own text."""
    if isinstance(error, MailFailure):
        return error.detail
    return type(error).__name__
