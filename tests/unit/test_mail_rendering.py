"""The mails as the customer reads them: wording, links, expiry, escaping (no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from portal_mailer.config import MailerSettings
from portal_mailer.rendering import (
    MailContext,
    NotMailable,
    build_message,
    format_validity,
    render_mail,
)
from portal_shared.events import Envelope, Event, Payload, RegistrationCreated, ResetRequested

ACCOUNT = UUID("3f2b8a5e-0000-4000-8000-000000000001")
TOKEN = "Zq3-_tOkEn" * 4 + "xyz"  # URL-safe, like auth's tokens
BASE = "https://portal.example.de"
# 13:30 UTC in November is 14:30 in Berlin (CET, UTC+1).
EXPIRES_WINTER = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
CONTEXT = MailContext(BASE + "/", "hilfe@portal.example.de", ZoneInfo("Europe/Berlin"))
SENDER = "Kundenportal <no-reply@portal.example.de>"


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def flat(text: str) -> str:
    """Text with its line breaks folded, so assertions do not depend on the wrapping."""
    return " ".join(text.split())


def event_of(payload: Payload, lifetime: timedelta = timedelta(hours=24)) -> Event:
    """An event issued `lifetime` before its token expires, as auth would send it."""
    envelope = Envelope(
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=payload.expires_at - lifetime,  # type: ignore[attr-defined]
        correlation_id="test",
        payload=payload.model_dump(mode="json"),
    )
    return Event(envelope=envelope, payload=payload)


def registration(locale: str = "de", last_name: str = "Mustermann", **overrides: object) -> Event:
    fields: dict = {
        "account_id": ACCOUNT, "customer_number": "10001", "email": "max@example.de",
        "last_name": last_name, "locale": locale, "activation_token": TOKEN,
        "expires_at": EXPIRES_WINTER,
    }
    fields.update(overrides)
    return event_of(RegistrationCreated(**fields))


def reset(locale: str = "de", last_name: str = "Mustermann", **overrides: object) -> Event:
    fields: dict = {
        "account_id": ACCOUNT, "email": "max@example.de", "last_name": last_name,
        "locale": locale, "reset_token": TOKEN, "expires_at": EXPIRES_WINTER,
    }
    fields.update(overrides)
    return event_of(ResetRequested(**fields), lifetime=timedelta(minutes=60))


# --- activation --------------------------------------------------------------------


def test_activation_in_german_is_polite_and_follows_the_faq() -> None:
    mail = render_mail(registration("de"), CONTEXT)
    text = flat(mail.text)

    assert mail.template == "activation"
    assert mail.to == "max@example.de"
    assert mail.subject == "Bitte aktivieren Sie Ihr Benutzerkonto im Kundenportal"
    assert text.startswith("Guten Tag Mustermann, vielen Dank für Ihre Registrierung")
    assert f"{BASE}/aktivieren?token={TOKEN}" in mail.text
    # FAQ: the link is valid for 24 hours ...
    assert (
        "Bitte beachten Sie, dass der Link nur 24 Stunden gültig ist "
        "(gültig bis 25.11.2026, 14:30 Uhr)." in text
    )
    # ... copy it into the address bar if it does not open ... register again once expired.
    assert (
        "Wenn Sie den Link nicht in der E-Mail öffnen können, kopieren Sie den Link und "
        "fügen Sie ihn in die Adressleiste Ihres Browsers ein." in text
    )
    assert "Ist der Link abgelaufen, führen Sie die Registrierung bitte erneut aus." in text
    assert "hilfe@portal.example.de" in text
    # Formal address throughout: no informal "du"/"dein" crept in.
    for informal in (" du ", " dich ", " dein", " dir "):
        assert informal not in mail.text.lower()
        assert informal not in mail.html.lower()


def test_activation_in_english() -> None:
    mail = render_mail(registration("en"), CONTEXT)

    assert mail.locale == "en"
    text = flat(mail.text)
    assert mail.subject == "Please activate your user account for the customer portal"
    assert text.startswith("Hello Mustermann, Thank you for registering")
    assert f"{BASE}/aktivieren?token={TOKEN}" in mail.text
    assert "only valid for 24 hours (valid until 25 November 2026, 14:30 CET)." in text
    assert "copy the link and paste it into the address bar of your browser" in text
    assert "If the link has expired, please register again." in text
    assert "Registrierung" not in mail.text + mail.html


@pytest.mark.parametrize("locale", ["de", "en"])
def test_html_part_carries_the_same_link_and_expiry(locale: str) -> None:
    mail = render_mail(registration(locale), CONTEXT)

    assert f'href="{BASE}/aktivieren?token={TOKEN}"' in mail.html
    assert f'<html lang="{locale}">' in mail.html
    assert f"<title>{mail.subject}</title>" in mail.html
    expiry = "25.11.2026, 14:30 Uhr" if locale == "de" else "25 November 2026, 14:30 CET"
    assert expiry in mail.html


# --- password reset ----------------------------------------------------------------


def test_reset_in_german() -> None:
    mail = render_mail(reset("de"), CONTEXT)

    text = flat(mail.text)
    assert mail.template == "password-reset"
    assert mail.subject == "Neues Passwort für das Kundenportal vergeben"
    assert f"{BASE}/passwort-zuruecksetzen?token={TOKEN}" in mail.text
    assert f'href="{BASE}/passwort-zuruecksetzen?token={TOKEN}"' in mail.html
    assert "der Link nur 1 Stunde gültig ist (gültig bis 25.11.2026, 14:30 Uhr)." in text
    assert "fügen Sie ihn in die Adressleiste Ihres Browsers ein" in text
    assert "wählen Sie bitte erneut „Passwort vergessen“ auf der Login-Seite" in text
    assert "Ihr bisheriges Passwort bleibt dann gültig." in text


def test_reset_in_english() -> None:
    mail = render_mail(reset("en"), CONTEXT)

    text = flat(mail.text)
    assert mail.subject == "Set a new password for the customer portal"
    assert f"{BASE}/passwort-zuruecksetzen?token={TOKEN}" in mail.text
    assert "only valid for 1 hour (valid until 25 November 2026, 14:30 CET)." in text
    assert 'choose "forgot password" on the login page of the customer portal again' in text


# --- links -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://localhost:8080", "http://localhost:8080/aktivieren?token="),
        ("http://localhost:8080/", "http://localhost:8080/aktivieren?token="),
        ("https://example.de/portal/", "https://example.de/portal/aktivieren?token="),
    ],
)
def test_link_is_exactly_base_path_and_token(base: str, expected: str) -> None:
    context = MailContext(base, CONTEXT.support_email, CONTEXT.timezone)
    mail = render_mail(registration(), context)

    links = [line for line in mail.text.splitlines() if line.startswith("http")]
    assert links == [expected + TOKEN]


def test_link_base_comes_from_the_settings() -> None:
    settings = MailerSettings(portal_base_url="https://kunden.example.de")  # type: ignore[arg-type]
    mail = render_mail(reset(), MailContext.from_settings(settings))

    assert f"https://kunden.example.de/passwort-zuruecksetzen?token={TOKEN}" in mail.text


def test_token_characters_that_are_not_url_safe_are_encoded() -> None:
    mail = render_mail(registration(activation_token="a+b/c=&d"), CONTEXT)

    assert f"{BASE}/aktivieren?token=a%2Bb%2Fc%3D%26d" in mail.text


# --- escaping ----------------------------------------------------------------------


@pytest.mark.parametrize("make", [registration, reset])
@pytest.mark.parametrize("locale", ["de", "en"])
def test_hostile_last_name_is_escaped_in_html(make: Callable[..., Event], locale: str) -> None:
    mail = render_mail(make(locale, last_name="<script>alert(1)</script>"), CONTEXT)

    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.html
    # Plain text is not markup: the name appears as the customer typed it.
    assert "<script>alert(1)</script>" in mail.text


def test_attribute_breaking_name_cannot_leave_its_text_node() -> None:
    mail = render_mail(registration(last_name='"><img src=x onerror=alert(1)>'), CONTEXT)

    assert "<img" not in mail.html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in mail.html


# --- expiry and time zone ----------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_at", "german", "english"),
    [
        (utc(2026, 11, 25, 13, 30), "25.11.2026, 14:30 Uhr", "25 November 2026, 14:30 CET"),
        (utc(2026, 7, 1, 10, 0), "01.07.2026, 12:00 Uhr", "1 July 2026, 12:00 CEST"),
        # Late evening UTC is already the next day in Berlin.
        (utc(2026, 12, 31, 23, 15), "01.01.2027, 00:15 Uhr", "1 January 2027, 00:15 CET"),
    ],
)
def test_expiry_is_shown_in_berlin_time(expires_at: datetime, german: str, english: str) -> None:
    assert german in render_mail(registration("de", expires_at=expires_at), CONTEXT).text
    assert english in render_mail(registration("en", expires_at=expires_at), CONTEXT).text


def test_expiry_follows_the_configured_time_zone() -> None:
    context = MailContext(BASE, CONTEXT.support_email, ZoneInfo("America/New_York"))
    mail = render_mail(registration("en"), context)

    assert "25 November 2026, 08:30 EST" in mail.text


def test_lifetime_is_left_out_when_the_timestamps_do_not_fit_together() -> None:
    # An issuing service on a test clock: the token "expires" before the event happened.
    event = event_of(registration().payload, lifetime=timedelta(days=-3))
    mail = render_mail(event, CONTEXT)

    assert "dass der Link nur bis 25.11.2026, 14:30 Uhr gültig ist." in flat(mail.text)
    assert "Stunden" not in mail.text


@pytest.mark.parametrize(
    ("lifetime", "locale", "expected"),
    [
        (timedelta(hours=24), "de", "24 Stunden"),
        (timedelta(hours=24, seconds=-2), "de", "24 Stunden"),
        (timedelta(hours=1), "en", "1 hour"),
        (timedelta(minutes=90), "de", "90 Minuten"),
        (timedelta(seconds=10), "de", None),
        (timedelta(days=90), "en", None),
    ],
)
def test_validity_phrase(lifetime: timedelta, locale: str, expected: str | None) -> None:
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    assert format_validity(issued, issued + lifetime, locale) == expected


# --- the MIME message --------------------------------------------------------------


def test_message_is_multipart_alternative_with_the_needed_headers_only() -> None:
    now = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)
    mail = render_mail(registration(), CONTEXT)
    message = build_message(mail, SENDER, now)

    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == SENDER
    assert message["To"] == "max@example.de"
    assert message["Subject"] == mail.subject
    assert parsedate_to_datetime(message["Date"]) == now
    assert message["Message-ID"].endswith("@portal.example.de>")
    assert message["Content-Language"] == "de"
    assert message.get_body(("plain",)).get_content() == mail.text  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content() == mail.html  # type: ignore[union-attr]
    # Nothing more personal than the address the mail goes to.
    raw = message.as_string()
    assert "10001" not in raw
    assert str(ACCOUNT) not in raw


def test_each_message_gets_its_own_message_id() -> None:
    mail = render_mail(registration(), CONTEXT)
    now = datetime(2026, 11, 24, tzinfo=UTC)

    first, second = build_message(mail, SENDER, now), build_message(mail, SENDER, now)
    assert first["Message-ID"] != second["Message-ID"]


def test_an_event_without_a_mail_is_refused() -> None:
    event = registration()
    other = Envelope(**{**event.envelope.model_dump(), "event_type": "something-else"})

    with pytest.raises(NotMailable):
        render_mail(Event(envelope=other, payload=event.payload), CONTEXT)
