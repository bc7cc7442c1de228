"""The other paths that end in a customer's mailbox, through every real component."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from portal_auth.app import create_app as create_auth_app
from portal_devtools.mailsink import MailSink
from portal_faq.app import create_app as create_faq_app
from portal_faq.config import FaqSettings
from tests.conftest import AmqpNames
from tests.e2e.conftest import auth_settings
from tests.e2e.test_registration_flow import PASSWORD, import_customers, registration
from tests.support import running

pytestmark = pytest.mark.integration

NEW_PASSWORD = "Neue!Wolke8Tal"


def token_in(link: str, path: str) -> str:
    assert link.startswith(f"http://portal.test{path}?token="), link
    return parse_qs(urlsplit(link).query)["token"][0]


async def activated(auth: TestClient, sink: MailSink, email: str) -> None:
    assert (await auth.post("/api/v1/auth/register", json=registration(email))).status == 202
    mail = await sink.wait_for_mail_to(email, timeout=15)
    token = token_in(mail.links[0], "/aktivieren")
    assert (await auth.post("/api/v1/auth/activate", json={"token": token})).status == 200


async def test_forgotten_password_mail_reset_and_notice(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient, tmp_path: Path
) -> None:
    await import_customers(database_url, tmp_path)
    async with running(create_auth_app(auth_settings(database_url, amqp_names, tmp_path))) as auth:
        await activated(auth, smtp_sink, "max@example.de")
        login = await auth.post("/api/v1/auth/login", json={"email": "max@example.de", "password": PASSWORD})
        session = await login.json()

        forgot = await auth.post("/api/v1/auth/password/forgot", json={"customer_number": "10001", "email": "max@example.de"})
        assert forgot.status == 202
        reset_mail = await smtp_sink.wait_for_mail_to("max@example.de", count=2, timeout=15)
        token = token_in(
            next(link for link in reset_mail.links if "passwort-zuruecksetzen" in link), "/passwort-zuruecksetzen"
        )
        reset = await auth.post("/api/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
        assert reset.status == 200

        notice = await smtp_sink.wait_for_mail_to("max@example.de", count=3, timeout=15)
        assert "token=" not in notice.text
        assert "Passwort" in notice.subject
        me = await auth.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {session['access_token']}"})
        assert me.status == 401
        again = await auth.post("/api/v1/auth/login", json={"email": "max@example.de", "password": NEW_PASSWORD})
        assert again.status == 200


async def test_registering_a_taken_address_mails_its_owner_a_notice_without_a_link(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient, tmp_path: Path
) -> None:
    await import_customers(database_url, tmp_path)
    async with running(create_auth_app(auth_settings(database_url, amqp_names, tmp_path))) as auth:
        await activated(auth, smtp_sink, "max@example.de")
        assert (await auth.post("/api/v1/auth/register", json=registration("max@example.de"))).status == 202
        notice = await smtp_sink.wait_for_mail_to("max@example.de", count=2, timeout=15)
        assert not any("token=" in link for link in notice.links)
        assert notice.subject != (await smtp_sink.wait_for_mail_to("max@example.de", count=1)).subject


async def test_the_contact_form_reaches_support_and_the_sender(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient
) -> None:
    settings = FaqSettings(faq_database_url=database_url, amqp_url=amqp_names.url, events_exchange=amqp_names.exchange)
    async with running(create_faq_app(settings)) as faq:
        response = await faq.post("/api/v1/contact", json={
            "name": "Erika Mustermann", "email": "erika@example.de", "customer_number": "10001",
            "subject": "Rechnung", "message": "Wo finde ich meine Rechnung?",
        })
        assert response.status == 202
        contact_id = (await response.json())["id"]
        to_support = await smtp_sink.wait_for_mail_to("support@kundenportal.example", timeout=15)
        receipt = await smtp_sink.wait_for_mail_to("erika@example.de", timeout=15)
    assert to_support.message["Reply-To"] == "erika@example.de" or "erika@example.de" in str(to_support.message["Reply-To"])
    assert "Wo finde ich meine Rechnung?" in to_support.text
    assert "10001" in to_support.text
    # The receipt names the case number and nothing the sender typed.
    assert contact_id.replace("-", "")[:8].upper() in receipt.text
    assert "Erika Mustermann" not in receipt.text and "Rechnung" not in receipt.subject


async def test_the_contact_form_cannot_relay_phishing_or_smuggle_headers(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient
) -> None:
    settings = FaqSettings(faq_database_url=database_url, amqp_url=amqp_names.url, events_exchange=amqp_names.exchange)
    form = {"email": "victim@example.de", "subject": "Konto", "message": "Bitte melden."}
    async with running(create_faq_app(settings)) as faq:
        smuggled = await faq.post("/api/v1/contact", json={
            **form, "name": "=?utf-8?q?Chef=0D=0ABcc=3A_boss=40evil.example?=",
        })
        assert smuggled.status == 422
        assert (await smuggled.json())["errors"] == [{"field": "name", "code": "invalid_characters"}]
        phishing = await faq.post("/api/v1/contact", json={
            **form, "name": "Ihr Konto wird gesperrt! Bestätigen: https://evil.example/login",
        })
        assert phishing.status == 202
        receipt = await smtp_sink.wait_for_mail_to("victim@example.de", timeout=15)
        to_support = await smtp_sink.wait_for_mail_to("support@kundenportal.example", timeout=15)

    assert b"gesperrt" not in receipt.content and b"evil.example" not in receipt.content
    assert receipt.links == []
    # Support sees who wrote what; the name is one display name of its Reply-To.
    [reply_to] = to_support.message["Reply-To"].addresses
    assert reply_to.addr_spec == "victim@example.de"
    assert len(smtp_sink.mails) == 2


async def test_guessing_a_password_mails_the_owner_a_notice_with_the_way_to_a_new_one(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient, tmp_path: Path
) -> None:
    await import_customers(database_url, tmp_path)
    async with running(create_auth_app(auth_settings(database_url, amqp_names, tmp_path))) as auth:
        await activated(auth, smtp_sink, "max@example.de")
        for _ in range(5):
            wrong = await auth.post("/api/v1/auth/login", json={"email": "max@example.de", "password": "Falsch!7Xq"})
            assert wrong.status == 401
        notice = await smtp_sink.wait_for_mail_to("max@example.de", count=2, timeout=15)
    assert "Anmeldeversuche" in notice.subject
    assert "nicht gesperrt" in notice.text
    assert notice.links == ["http://portal.test/passwort-vergessen"]


async def test_logging_in_to_a_pending_account_mails_a_fresh_activation_link(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient, tmp_path: Path
) -> None:
    await import_customers(database_url, tmp_path)
    async with running(create_auth_app(auth_settings(database_url, amqp_names, tmp_path))) as auth:
        assert (await auth.post("/api/v1/auth/register", json=registration("max@example.de"))).status == 202
        first = await smtp_sink.wait_for_mail_to("max@example.de", timeout=15)
        login = await auth.post("/api/v1/auth/login", json={"email": "max@example.de", "password": PASSWORD})
        assert login.status == 401
        reminder = await smtp_sink.wait_for_mail_to("max@example.de", count=2, timeout=15)
        assert "noch nicht aktiviert" in reminder.subject
        old, fresh = token_in(first.links[0], "/aktivieren"), token_in(reminder.links[0], "/aktivieren")
        assert (await auth.post("/api/v1/auth/activate", json={"token": old})).status == 400
        assert (await auth.post("/api/v1/auth/activate", json={"token": fresh})).status == 200


async def test_changing_the_address_mails_a_link_to_the_new_one_and_a_notice_to_the_old_one(
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink, mailer: TestClient, tmp_path: Path
) -> None:
    await import_customers(database_url, tmp_path)
    async with running(create_auth_app(auth_settings(database_url, amqp_names, tmp_path))) as auth:
        await activated(auth, smtp_sink, "max@example.de")
        login = await auth.post("/api/v1/auth/login", json={"email": "max@example.de", "password": PASSWORD})
        bearer = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
        asked = await auth.post("/api/v1/auth/me/email", json={"new_email": "max.neu@example.de", "password": PASSWORD},
                                headers=bearer)
        assert asked.status == 202

        link_mail = await smtp_sink.wait_for_mail_to("max.neu@example.de", timeout=15)
        assert "E-Mail-Adresse" in link_mail.subject
        token = token_in(next(link for link in link_mail.links if "email-bestaetigen" in link), "/email-bestaetigen")
        confirmed = await auth.post("/api/v1/auth/me/email/confirm", json={"token": token})
        assert confirmed.status == 200

        notice = await smtp_sink.wait_for_mail_to("max@example.de", count=2, timeout=15)
        assert "token=" not in notice.text
        assert "max.neu@example.de" in notice.text
        assert notice.message["Reply-To"] is not None
        again = await auth.post("/api/v1/auth/login", json={"email": "max.neu@example.de", "password": PASSWORD})
        assert again.status == 200
