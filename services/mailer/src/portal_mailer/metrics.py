"""Prometheus metrics, registered per application so several apps can share a process.

Counters are labelled by template (the mail's kind; `none` for messages that never
became an event), so an alert can tell "activation mails are failing" from "the
contact form's receipts bounce".
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest


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

    async def handle(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
