"""Prometheus metrics, registered per application so several apps can share a process.

Counters are labelled by template (the mail's kind; `none` for messages that never
became an event), so an alert can tell "activation mails are failing" from "the
contact form's receipts bounce".

The queues' depths are asked of the broker at scrape time (a passive declare per queue,
by the consumer, on a channel of its own): `kind` is `events` for the mailer queue,
`retry` for each delay queue and `dead-letters` for the dead-letter queue. Every replica
reports the same queues; aggregate with `max`, not `sum`.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from portal_mailer.smtp_errors import HINTS
from portal_shared.metrics import ScrapeHook, run_scrape_hooks


class MailerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.sent = Counter(
            "mailer_mails_sent", "Mails accepted by the SMTP server.", ["template"],
            registry=self.registry,
        )
        self.retried = Counter(
            "mailer_mails_retried",
            "Mails that failed for now and were put into a delay queue for another attempt.",
            ["template"], registry=self.registry,
        )
        self.dead_lettered = Counter(
            "mailer_mails_dead_lettered", "Messages moved to the dead-letter queue.",
            ["template", "reason"], registry=self.registry,
        )
        self.expired = Counter(
            "mailer_mails_expired",
            "Mails not sent because their link had expired by the time they would go out.",
            ["template"], registry=self.registry,
        )
        self.duplicates = Counter(
            "mailer_duplicate_mails", "Mails of redelivered events that had already been sent.",
            ["template"], registry=self.registry,
        )
        self.send_seconds = Histogram(
            "mailer_send_duration_seconds", "Time to hand one mail to the SMTP server.",
            ["template"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.in_flight = Gauge(
            "mailer_messages_in_flight", "Messages taken from the queue and not yet settled.",
            registry=self.registry,
        )
        self.queue_messages = Gauge(
            "mailer_queue_messages",
            "Messages ready in a mailer queue as the broker reports them to a passive declare "
            "(messages delivered and not yet acknowledged are not included).",
            ["queue", "kind"], registry=self.registry,
        )
        self.queue_consumers = Gauge(
            "mailer_queue_consumers", "Consumers of a mailer queue as the broker reports them.",
            ["queue", "kind"], registry=self.registry,
        )
        self.paused = Gauge(
            "mailer_delivery_paused",
            "1 while delivery is paused because the SMTP server refuses our setup, by reason "
            "(the hint is in the log and /readyz); messages wait in the queue meanwhile.",
            ["reason"], registry=self.registry,
        )
        self.pauses = Counter(
            "mailer_delivery_pauses",
            "Times delivery was paused because the SMTP server refused our setup.",
            ["reason"], registry=self.registry,
        )
        self.show_pause(None)  # every reason's series exists from the start, at 0
        self.scrape_hooks: list[ScrapeHook] = []

    def show_pause(self, reason: str | None) -> None:
        for known in HINTS:
            self.paused.labels(known).set(1 if known == reason else 0)
            self.pauses.labels(known)

    def observe_queue(self, queue: str, kind: str, messages: int, consumers: int) -> None:
        self.queue_messages.labels(queue, kind).set(messages)
        self.queue_consumers.labels(queue, kind).set(consumers)

    def forget_queues(self) -> None:
        """Depths unknown (no broker connection): no series rather than stale ones."""
        self.queue_messages.clear()
        self.queue_consumers.clear()

    async def handle(self, request: web.Request) -> web.Response:
        await run_scrape_hooks(self.scrape_hooks)
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
