"""A Celery worker done right for the activation mail: RabbitMQ broker, late acks
(a task is acknowledged after it ran), prefetch 1, an SMTP connection per worker process
that is reused (reopened only when it fails). What it lacks next to our mailer: no outbox
(the producer publishes straight away), no idempotency record (a redelivery after a crash
sends the mail again), no dead-letter queue.

    celery -A celery_worker worker -c 8 -Q $PEER_QUEUE   (run by bench/peers.py)
"""

from __future__ import annotations

import os
import smtplib

from activation_mail import activation_message
from celery import Celery

app = Celery("peers", broker=os.environ["PEER_AMQP_URL"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue=os.environ["PEER_QUEUE"],
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
_smtp: smtplib.SMTP | None = None


def _connection() -> smtplib.SMTP:
    global _smtp
    if _smtp is None:
        _smtp = smtplib.SMTP(os.environ["SMTP_HOST"], int(os.environ["SMTP_PORT"]), timeout=30)
    return _smtp


@app.task(name="send_activation", autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True)
def send_activation(payload: dict) -> None:
    global _smtp
    sender, recipient, raw = activation_message(payload)
    try:
        _connection().sendmail(sender, [recipient], raw)
    except (smtplib.SMTPServerDisconnected, OSError):
        _smtp = None
        raise
