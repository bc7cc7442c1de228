"""Issue 9 through every real component: the mails that keep an account from being
stolen or blocked with the data printed on an invoice reach the right mailbox —
CLI import → auth → outbox → RabbitMQ → mailer → SMTP."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from portal_auth.app import create_app as create_auth_app
from portal_devtools.mailsink import Mail, MailSink
from tests.conftest import AmqpNames
from tests.e2e.conftest import auth_settings
from tests.e2e.test_mail_paths import token_in
from tests.e2e.test_registration_flow import PASSWORD, registration
from tests.support import CommandResult, console_script, run_command, running

pytestmark = pytest.mark.integration

THIEF = "thief@example.org"


async def portal_auth(database_url: str, *args: str) -> CommandResult:
    result = await run_command(
        console_script("portal-auth"), *args, env={**os.environ, "AUTH_DATABASE_URL": database_url}
    )
    assert result.returncode == 0, result.stderr
    return result


async def mail_about(sink: MailSink, address: str, subject: str) -> Mail:
    """The mail to `address` with this subject, once it has arrived (order among the
    mails to one address is not guaranteed: the mailer sends several at once)."""
    def arrived(_: list[Mail]) -> bool:
        return any(m.subject == subject for m in sink.to(address))

    await sink.wait_for(arrived, timeout=20)
    return next(m for m in sink.to(address) if m.subject == subject)


async def activate(auth: TestClient, mail: Mail) -> int:
    link = next(link for link in mail.links if "/aktivieren?" in link)
    return (await auth.post("/api/v1/auth/activate", json={"token": token_in(link, "/aktivieren")})).status


async def test_another_address_than_the_one_on_file_mails_the_address_on_file_not_the_registrant(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient, tmp_path: Path
) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text(
        "customer_number,last_name,email,registration_code\n10001,Mustermann,max@example.de,ABCD-EFGH-2345\n",
        encoding="utf-8",
    )
    await portal_auth(database_url, "import-customers", str(csv))
    async with running(create_auth_app(auth_settings(database_url, amqp_names, tmp_path))) as auth:
        # Even with the letter's code: the address on file is the only one that registers.
        stolen = registration(THIEF) | {"registration_code": "ABCDEFGH2345"}
        assert (await auth.post("/api/v1/auth/register", json=stolen)).status == 202
        told = await mail_about(smtp_sink, "max@example.de", "Registrierungsversuch mit Ihrer Kundennummer im Kundenportal")
        assert "t***@e***.org" in told.text and THIEF not in told.text
        assert "http://portal.test/registrieren" in told.links
        assert told.message["Reply-To"] == "support@kundenportal.example"

        own = registration("max@example.de") | {"registration_code": "abcd efgh 2345"}
        assert (await auth.post("/api/v1/auth/register", json=own)).status == 202
        activation = await mail_about(smtp_sink, "max@example.de", "Bitte aktivieren Sie Ihr Benutzerkonto im Kundenportal")
        assert await activate(auth, activation) == 200
    assert smtp_sink.to(THIEF) == []


async def test_the_owner_hears_of_the_thief_at_every_step_and_support_gives_the_number_back(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient, tmp_path: Path
) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text("customer_number,last_name\n10001,Mustermann\n", encoding="utf-8")
    await portal_auth(database_url, "import-customers", str(csv))
    async with running(create_auth_app(auth_settings(database_url, amqp_names, tmp_path))) as auth:
        # Nothing but the invoice on file: the owner registers, then the thief.
        assert (await auth.post("/api/v1/auth/register", json=registration("max@example.de"))).status == 202
        assert (await auth.post("/api/v1/auth/register", json=registration(THIEF))).status == 202
        await mail_about(smtp_sink, "max@example.de", "Weitere Registrierung mit Ihrer Kundennummer im Kundenportal")

        # The thief is quicker: the owner's registration lapses, and the owner is told.
        thief_activation = await smtp_sink.wait_for_mail_to(THIEF, timeout=20)
        assert await activate(auth, thief_activation) == 200
        lapsed = await mail_about(smtp_sink, "max@example.de", "Ihre Registrierung im Kundenportal wurde nicht abgeschlossen")
        assert "10001" in lapsed.text and "support@kundenportal.example" in lapsed.text

        # The owner writes to support; support looks and releases the customer number.
        shown = await portal_auth(database_url, "customer", "show", "10001")
        assert "active   t***@e***.org" in shown.stdout
        await portal_auth(database_url, "customer", "release", "10001", "--reason", "owner called")
        await mail_about(smtp_sink, THIEF, "Ihr Benutzerkonto im Kundenportal wurde gelöscht")

        # The owner registers again, and this time the account is theirs.
        assert (await auth.post("/api/v1/auth/register", json=registration("max@example.de"))).status == 202
        await smtp_sink.wait_for(
            lambda _: sum("aktivieren Sie" in m.subject for m in smtp_sink.to("max@example.de")) == 2, timeout=20
        )
        second = [m for m in smtp_sink.to("max@example.de") if "aktivieren Sie" in m.subject][-1]
        assert await activate(auth, second) == 200
        login = await auth.post("/api/v1/auth/login", json={"email": "max@example.de", "password": PASSWORD})
        assert login.status == 200
