"""`portal-mailer dead-letters list | replay`, run as an operator would, against real queues."""

from __future__ import annotations

import os

import pytest

from portal_devtools.mailsink import Fault, MailSink
from tests.conftest import AmqpNames
from tests.integration.test_mailer import (
    MAIL_TIMEOUT,
    broker_for,
    mailer_settings_for,
    metric_reaches,
    registration,
    running_mailer,
)
from tests.support import CommandResult, console_script, run_command

pytestmark = pytest.mark.integration

MALFORMED = b'{"event_type": "registration-created", "payload": {"activation_token": "tok-'


async def dead_letters(names: AmqpNames, *arguments: str) -> CommandResult:
    env = os.environ | {
        "AMQP_URL": names.url,
        "MAILER_QUEUE": names.mailer_queue,
        "MAILER_DEAD_LETTER_QUEUE": names.mailer_dead_letter_queue,
    }
    return await run_command(console_script("portal-mailer"), "dead-letters", *arguments, env=env)


def rows(listing: str) -> dict[str, list[str]]:
    """The listing's rows by id: [event type, reason, time, detail…]."""
    lines = listing.strip().splitlines()
    return {line.split()[0]: line.split()[1:] for line in lines[1:-1]}


async def test_list_shows_why_without_contents_and_replay_sends_once_the_cause_is_fixed(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    smtp_sink.inject(Fault(reply="550 5.1.1 Mailbox unavailable", at="rcpt",
                           recipient="moved@example.de", times=None))
    refused = registration("moved@example.de")
    token = refused.payload.activation_token  # type: ignore[attr-defined]
    settings = mailer_settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish_event(refused)
        await broker.publish(MALFORMED, "auth.registration-created")
        await metric_reaches(mailer, "mailer_mails_dead_lettered_total", 1,
                             template="activation", reason="smtp_permanent")
        await metric_reaches(mailer, "mailer_mails_dead_lettered_total", 1,
                             template="none", reason="malformed")

        listed = await dead_letters(amqp_names, "list")

        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines()[0].split()[:3] == ["ID", "EVENT", "TYPE"]
        assert listed.stdout.strip().endswith(
            f"2 dead letter(s) in {amqp_names.mailer_dead_letter_queue}"
        )
        by_reason = {row[1]: (message_id, row) for message_id, row in rows(listed.stdout).items()}
        assert set(by_reason) == {"smtp_permanent", "malformed"}
        refused_id, refused_row = by_reason["smtp_permanent"]
        assert refused_row[0] == "registration-created"
        assert refused_row[3:] == ["recipient", "refused", "550"]
        assert by_reason["malformed"][1][0] == "-"  # not JSON: not even its type is readable
        for secret in (token, "moved@example.de", "Mustermann", "tok-"):
            assert secret not in listed.stdout + listed.stderr
        # Listing takes nothing away.
        assert await broker.queue_state(amqp_names.mailer_dead_letter_queue) == (2, 0)

        smtp_sink.clear_faults()  # the customer's mailbox works again
        replayed = await dead_letters(amqp_names, "replay", "--id", refused_id)

        assert replayed.returncode == 0, replayed.stderr
        assert f"replayed {refused_id}" in replayed.stdout
        mail = await smtp_sink.wait_for_mail_to("moved@example.de", timeout=MAIL_TIMEOUT)
        assert mail.links == [f"http://portal.test/aktivieren?token={token}"]
        await metric_reaches(mailer, "mailer_mails_sent_total", 1, template="activation")
        assert await broker.queue_state(amqp_names.mailer_dead_letter_queue) == (1, 0)


async def test_replay_without_ids_moves_everything_and_unknown_ids_are_reported(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink
) -> None:
    settings = mailer_settings_for(database_url, amqp_names, smtp_sink.host, smtp_sink.port)
    async with running_mailer(settings) as mailer, broker_for(amqp_names) as broker:
        await broker.publish(MALFORMED, "auth.registration-created")
        await metric_reaches(mailer, "mailer_mails_dead_lettered_total", 1,
                             template="none", reason="malformed")

        unknown = await dead_letters(amqp_names, "replay", "--id", "no-such-id")
        assert unknown.returncode == 1
        assert "not in the dead-letter queue: no-such-id" in unknown.stderr
        assert await broker.queue_state(amqp_names.mailer_dead_letter_queue) == (1, 0)

        everything = await dead_letters(amqp_names, "replay")

        assert everything.returncode == 0, everything.stderr
        assert "1 dead letter(s) moved to" in everything.stdout
        # Still malformed, so it comes back: replayed once, dead-lettered twice.
        await metric_reaches(mailer, "mailer_mails_dead_lettered_total", 2,
                             template="none", reason="malformed")
        [again] = await broker.dead_letters(1)
        assert again.body == MALFORMED
        assert again.headers["x-original-routing-key"] == "auth.registration-created"
