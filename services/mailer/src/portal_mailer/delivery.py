"""One message from the mailer queue to its mails, and the decision what happens to it.

Each message ends in exactly one of these ways:
- mailed: every mail of the event was accepted by the SMTP server, or had been before
  (a redelivery), or was skipped because its link had expired; then it is acknowledged;
- retried: a mail failed for now (SMTP 4xx, server or database unreachable); a copy
  waits in a delay queue and the original is acknowledged, so no worker slot waits;
- dead-lettered: it can never become a mail (not an event we know, a mail that cannot
  be built from it — a template error, an address with no ASCII form —, a mail the SMTP
  server refuses for good, or still failing after the last attempt allowed); at once,
  so one bad message costs one delivery and holds up nothing else;
- not settled, when the broker connection is lost first; the broker redelivers it.

Sending and recording a mail happen in one database transaction: the row (event id,
template) is inserted, the mail is handed to SMTP, and the transaction commits. A
redelivered event finds its rows and sends nothing again. The one gap is a crash after
the SMTP server accepted a mail and before the commit (README, "Idempotency").

Logs name the event id, type and template only: bodies carry tokens and addresses.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass

import asyncpg
from aio_pika.abc import AbstractIncomingMessage

from portal_mailer import repository as repo
from portal_mailer.config import MailerSettings
from portal_mailer.mails import MailContext, NotMailable, PlannedMail, link_expired, plan_mails
from portal_mailer.metrics import MailerMetrics
from portal_mailer.rendering import build_message, envelope_sender, render, serialize
from portal_mailer.retry import RetryPolicy, attempt_of
from portal_mailer.settlement import Settlement
from portal_mailer.smtp import PermanentSmtpError, SmtpError, SmtpPool
from portal_shared.clock import Clock, utc_now
from portal_shared.email_address import InvalidAddress, UnsupportedAddress, smtp_form
from portal_shared.events import Event, EventError, UnknownEventType, decode

log = logging.getLogger(__name__)


# --- the decision after a failed mail (pure) -----------------------------------------


@dataclass(frozen=True)
class Retry:
    delay: float


@dataclass(frozen=True)
class GiveUp:
    reason: str  # the dead letter's x-death-reason


class RenderFailed(Exception):
    """The mail cannot be built from this event; trying again gives the same result."""

    reason = "render_failed"


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


def after_failure(error: Exception, attempt: int, policy: RetryPolicy) -> Retry | GiveUp:
    if isinstance(error, PermanentSmtpError):
        return GiveUp("smtp_permanent")
    if isinstance(error, RenderFailed):
        return GiveUp(error.reason)
    if policy.gives_up_after(attempt):
        return GiveUp("retries_exhausted")
    return Retry(policy.delay_after(attempt))


def failure_detail(error: Exception) -> str:
    """What a log line or dead letter says about a failure: our own summary or the error's
    class, never a server's free text (SMTP replies echo addresses, PostgreSQL's DETAIL
    shows row values)."""
    if isinstance(error, SmtpError):
        return error.detail
    if isinstance(error, RenderFailed):
        return f"render: {error}"
    return type(error).__name__


class MailResult(enum.Enum):
    SENT = "sent"
    DUPLICATE = "duplicate"  # sent before, by an earlier delivery of the same event
    EXPIRED = "expired"  # its link no longer works; not sent


class _LinkExpired(Exception):
    pass


class _AlreadySent(Exception):
    pass


# --- one message ---------------------------------------------------------------------


class MailDelivery:
    def __init__(
        self,
        settings: MailerSettings,
        pool: asyncpg.Pool,
        smtp: SmtpPool,
        metrics: MailerMetrics,
        clock: Clock = utc_now,
    ) -> None:
        self._mail_from = settings.mail_from
        self._envelope_sender = envelope_sender(settings.mail_from)
        self._context = MailContext.from_settings(settings)
        self._policy = RetryPolicy.from_settings(settings)
        self._pool = pool
        self._smtp = smtp
        self._metrics = metrics
        self._clock = clock

    async def handle(self, message: AbstractIncomingMessage, settle: Settlement) -> None:
        attempt = attempt_of(message.headers)
        try:
            event = decode(message.body)
        except EventError as exc:
            await self._dead_letter(message, settle, "none", exc.reason, str(exc), attempt)
            return
        try:
            mails = plan_mails(event, self._context)
        except NotMailable as exc:
            await self._dead_letter(
                message, settle, "none", UnknownEventType.reason, str(exc), attempt
            )
            return
        except Exception as exc:  # a planning bug: the same on every try, so no retry
            log.exception("event %s (%s): cannot plan its mails", event.event_id,
                          event.envelope.event_type)
            failure = build_failure(exc)
            await self._dead_letter(message, settle, "none", failure.reason,
                                    failure_detail(failure), attempt)
            return
        for mail in mails:
            try:
                result = await self._deliver(event, mail)
            except Exception as exc:  # noqa: BLE001 - sorted by after_failure, none lost
                await self._settle_failure(message, settle, event, mail.template, attempt, exc)
                return
            self._count(result, event, mail.template)
        await message.ack()

    async def _deliver(self, event: Event, mail: PlannedMail) -> MailResult:
        try:
            recipient = smtp_form(mail.to)
            message = build_message(render(mail), self._mail_from, self._clock(), event.event_id)
            raw = serialize(message)
        except Exception as exc:
            failure = build_failure(exc)
            if isinstance(failure, UnsendableAddress):
                log.warning("%s: cannot be mailed (%s)", _about(event, mail.template), failure)
            else:
                log.exception("%s: cannot render the mail", _about(event, mail.template))
            raise failure from exc
        try:
            await self._send_once(event, mail, recipient, raw)
        except _LinkExpired:
            return MailResult.EXPIRED
        except _AlreadySent:
            return MailResult.DUPLICATE
        return MailResult.SENT

    async def _send_once(
        self, event: Event, mail: PlannedMail, recipient: str, raw: bytes
    ) -> None:
        """Record and send in one transaction: a failed send leaves no record behind."""
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await repo.claim_mail(
                conn, event.event_id, mail.template, event.envelope.event_type
            )
            if not claimed:
                raise _AlreadySent
            # Checked only now, so a redelivery of a mail sent in time is a duplicate,
            # not "expired"; raising rolls the claim back.
            if link_expired(mail, self._clock()):
                raise _LinkExpired
            started = time.perf_counter()
            await self._smtp.send(self._envelope_sender, [recipient], raw)
            self._metrics.send_seconds.labels(mail.template).observe(time.perf_counter() - started)

    def _count(self, result: MailResult, event: Event, template: str) -> None:
        if result is MailResult.SENT:
            self._metrics.sent.labels(template).inc()
            log.info("%s: mailed", _about(event, template))
        elif result is MailResult.DUPLICATE:
            self._metrics.duplicates.labels(template).inc()
            log.info("%s: already mailed, skipped", _about(event, template))
        else:
            self._metrics.expired.labels(template).inc()
            log.warning("%s: link expired before it could be mailed, skipped",
                        _about(event, template))

    async def _settle_failure(
        self,
        message: AbstractIncomingMessage,
        settle: Settlement,
        event: Event,
        template: str,
        attempt: int,
        error: Exception,
    ) -> None:
        detail = failure_detail(error)
        decision = after_failure(error, attempt, self._policy)
        if isinstance(decision, GiveUp):
            await self._dead_letter(message, settle, template, decision.reason, detail, attempt)
            return
        await settle.retry_later(message, decision.delay, attempt, detail)
        self._metrics.retried.labels(template).inc()
        log.warning(
            "%s: attempt %d of %d failed (%s), retrying in %gs",
            _about(event, template), attempt, self._policy.max_attempts, detail, decision.delay,
        )

    async def _dead_letter(
        self,
        message: AbstractIncomingMessage,
        settle: Settlement,
        template: str,
        reason: str,
        detail: str,
        attempt: int,
    ) -> None:
        await settle.dead_letter(message, reason, detail, template, attempt)
        self._metrics.dead_lettered.labels(template, reason).inc()
        log.warning("message %s dead-lettered (%s, %s: %s)", message.message_id, template,
                    reason, detail)


def _about(event: Event, template: str) -> str:
    """How logs name an event: never its payload, which holds the token and address."""
    return f"event {event.event_id} ({event.envelope.event_type}, {template})"
