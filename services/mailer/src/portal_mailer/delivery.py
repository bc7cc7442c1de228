"""One message from the mailer queue to its mails, and the outcome the consumer applies.

`MailDelivery.handle` takes a message's body and headers and returns an `Outcome`
(`domain.outcomes`); it never acknowledges or publishes anything itself:
- `Sent`: every mail of the event was accepted by the SMTP server, or had been before
  (a redelivery), or was skipped because its link had expired;
- `Failed` with `Retry(delay)`: a mail failed for now (SMTP 4xx, server or database
  unreachable) and attempts are left (`domain.retry`);
- `Failed` with `GiveUp(reason)`: it can never become a mail (not an event we know, a
  mail that cannot be built from it — a template error, an address with no ASCII
  form —, a mail the SMTP server refuses for good, or still failing after the last
  attempt allowed).

Sending and recording a mail happen in one database transaction: the row (event id,
template) is inserted, the mail is handed to SMTP, and the transaction commits. A
redelivered event finds its rows and sends nothing again. The one gap is a crash after
the SMTP server accepted a mail and before the commit (README, "Idempotency").

Logs name the event id, type and template only: bodies carry tokens and addresses.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping

import asyncpg

from portal_mailer.config import MailerSettings
from portal_mailer.domain.failures import UnsendableAddress, build_failure, failure_detail
from portal_mailer.domain.mails import (
    MailContext,
    NotMailable,
    PlannedMail,
    link_expired,
    plan_mails,
)
from portal_mailer.domain.outcomes import (
    NO_TEMPLATE,
    Failed,
    GiveUp,
    MailResult,
    Outcome,
    Sent,
    before_sending,
)
from portal_mailer.domain.retry import RetryPolicy, after_failure, attempt_of
from portal_mailer.metrics import MailerMetrics
from portal_mailer.rendering import envelope_sender, mime_bytes, render
from portal_mailer.repository import sent_mails as repo
from portal_mailer.smtp import SmtpPool
from portal_shared.clock import Clock, utc_now
from portal_shared.email_address import smtp_form
from portal_shared.events import Event, EventError, UnknownEventType, decode

log = logging.getLogger(__name__)


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

    async def handle(self, body: bytes, headers: Mapping[str, object] | None) -> Outcome:
        attempt = attempt_of(headers)
        try:
            event = decode(body)
        except EventError as exc:
            return Failed(GiveUp(exc.reason), NO_TEMPLATE, str(exc), attempt)
        try:
            mails = plan_mails(event, self._context)
        except NotMailable as exc:
            return Failed(GiveUp(UnknownEventType.reason), NO_TEMPLATE, str(exc), attempt)
        except Exception as exc:  # a planning bug: the same on every try, so no retry
            log.exception("event %s (%s): cannot plan its mails", event.event_id,
                          event.envelope.event_type)
            return self._failed(build_failure(exc), NO_TEMPLATE, attempt)
        for mail in mails:
            try:
                result = await self._deliver(event, mail)
            except Exception as exc:  # noqa: BLE001 - sorted by the retry policy, none lost
                return self._failed(exc, mail.template, attempt)
            self._count(result, event, mail.template)
        return Sent()

    def _failed(self, error: Exception, template: str, attempt: int) -> Failed:
        decision = after_failure(error, attempt, self._policy)
        return Failed(decision, template, failure_detail(error), attempt)

    async def _deliver(self, event: Event, mail: PlannedMail) -> MailResult:
        try:
            recipient = smtp_form(mail.to)
            raw = mime_bytes(render(mail), self._mail_from, self._clock(), event.event_id)
        except Exception as exc:
            failure = build_failure(exc)
            if isinstance(failure, UnsendableAddress):
                log.warning("%s: cannot be mailed (%s)", _about(event, mail.template), failure)
            else:
                log.exception("%s: cannot render the mail", _about(event, mail.template))
            raise failure from exc
        return await self._send_once(event, mail, recipient, raw)

    async def _send_once(
        self, event: Event, mail: PlannedMail, recipient: str, raw: bytes
    ) -> MailResult:
        """Record and send in one transaction. Only a sent mail keeps its record: a failed
        send, or a claim for a mail not sent (expired), is rolled back.

        The claim comes first, before an SMTP connection is taken, so a message waiting
        for a connection is already decoded, rendered and claimed; the connection is held
        until the commit, so mails sent but not recorded never outnumber the connections
        (README, "Idempotency")."""
        async with self._pool.acquire() as conn:
            try:
                claimed = await repo.begin_and_claim(
                    conn, event.event_id, mail.template, event.envelope.event_type
                )
                result = before_sending(claimed, link_expired(mail, self._clock()))
                if result is not MailResult.SENT:
                    await repo.rollback(conn)
                    return result
                async with self._smtp.connection() as smtp:
                    started = time.perf_counter()
                    await smtp.send(self._envelope_sender, [recipient], raw)
                    self._metrics.send_seconds.labels(mail.template).observe(
                        time.perf_counter() - started
                    )
                    await repo.commit(conn)
                return result
            except BaseException:
                # If this fails too, the connection is gone and so is the transaction
                # (the pool discards it); the first error is the one to report.
                with contextlib.suppress(Exception):
                    await repo.rollback(conn)
                raise

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


def _about(event: Event, template: str) -> str:
    """How logs name an event: never its payload, which holds the token and address."""
    return f"event {event.event_id} ({event.envelope.event_type}, {template})"
