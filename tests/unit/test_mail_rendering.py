"""The mails as the customer reads them: wording, links, expiry, escaping (no I/O).

Every template in both languages is checked for its links, the escaping of hostile
input and that its plain-text part says everything its HTML part does
(`test_every_mail_*`); the wording of each mail is checked on its own below.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from portal_mailer.config import MailerSettings
from portal_mailer.domain.formatting import format_validity, one_line
from portal_mailer.domain.mails import MailContext, NotMailable, plan_mails
from portal_mailer.rendering import RenderedMail, build_message, render
from portal_shared.email_address import UnsupportedAddress
from portal_shared.events import (
    AccountExists,
    ActivationReminder,
    ContactRequested,
    CustomerReleased,
    EmailChanged,
    EmailChangeRequested,
    Envelope,
    Event,
    PasswordChanged,
    Payload,
    RegistrationContested,
    RegistrationCreated,
    RegistrationRefused,
    ResetRequested,
    SuspiciousLogins,
)

ACCOUNT = UUID("3f2b8a5e-0000-4000-8000-000000000001")
TOKEN = "Zq3-_tOkEn" * 4 + "xyz"  # URL-safe, like auth's tokens
BASE = "https://portal.example.de"
# 13:30 UTC in November is 14:30 in Berlin (CET, UTC+1).
EXPIRES_WINTER = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
CONTEXT = MailContext(BASE + "/", "hilfe@portal.example.de", ZoneInfo("Europe/Berlin"))
SENDER = "Kundenportal <no-reply@portal.example.de>"


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def render_mails(event: Event, context: MailContext = CONTEXT) -> list[RenderedMail]:
    return [render(mail) for mail in plan_mails(event, context)]


def render_mail(event: Event, context: MailContext = CONTEXT) -> RenderedMail:
    [mail] = render_mails(event, context)
    return mail


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


def email_change(locale: str = "de", last_name: str = "Mustermann", **overrides: object) -> Event:
    fields: dict = {
        "account_id": ACCOUNT, "email": "max.neu@example.de", "last_name": last_name,
        "locale": locale, "confirm_token": TOKEN, "expires_at": EXPIRES_WINTER,
    }
    fields.update(overrides)
    return event_of(EmailChangeRequested(**fields))


OCCURRED = utc(2026, 11, 24, 13, 30)  # 14:30 in Berlin
CONTACT_ID = UUID("a53ba71a-0000-4000-8000-000000000004")


def event_at(payload: Payload, occurred_at: datetime = OCCURRED) -> Event:
    envelope = Envelope(
        event_type=payload.event_type, schema_version=payload.schema_version,
        occurred_at=occurred_at, correlation_id="test", payload=payload.model_dump(mode="json"),
    )
    return Event(envelope=envelope, payload=payload)


def account_exists(locale: str = "de", last_name: str = "Mustermann") -> Event:
    return event_at(AccountExists(
        account_id=ACCOUNT, email="max@example.de", last_name=last_name, locale=locale,  # type: ignore[arg-type]
    ))


def password_changed(
    locale: str = "de", last_name: str = "Mustermann", via: str = "reset"
) -> Event:
    return event_at(PasswordChanged(
        account_id=ACCOUNT, email="max@example.de", last_name=last_name, locale=locale,  # type: ignore[arg-type]
        changed_at=utc(2026, 7, 1, 10, 0), via=via,  # type: ignore[arg-type]
    ))


def email_changed(locale: str = "de", last_name: str = "Mustermann") -> Event:
    return event_at(EmailChanged(
        account_id=ACCOUNT, email="max@example.de", new_email="max.neu@example.de",
        last_name=last_name, locale=locale, changed_at=utc(2026, 7, 1, 10, 0),  # type: ignore[arg-type]
    ))


def contact(
    locale: str = "de", name: str = "Max Mustermann", **overrides: object
) -> Event:
    fields: dict = {
        "contact_id": CONTACT_ID, "name": name, "email": "max@example.de",
        "customer_number": "10001", "subject": f"Frage zur Rechnung {name}",
        "message": f"Guten Tag,\nich habe eine Frage von {name}.\n\nGruß", "locale": locale,
    }
    fields.update(overrides)
    return event_at(ContactRequested(**fields))


def activation_reminder(locale: str = "de", last_name: str = "Mustermann") -> Event:
    return event_of(ActivationReminder(
        account_id=ACCOUNT, email="max@example.de", last_name=last_name, locale=locale,  # type: ignore[arg-type]
        activation_token=TOKEN, expires_at=EXPIRES_WINTER,
    ))


def suspicious_logins(locale: str = "de", last_name: str = "Mustermann") -> Event:
    return event_at(SuspiciousLogins(
        account_id=ACCOUNT, email="max@example.de", last_name=last_name, locale=locale,  # type: ignore[arg-type]
        failed_attempts=5,
    ))


def registration_refused(
    locale: str = "de", last_name: str = "Mustermann", reason: str = "other_address"
) -> Event:
    return event_at(RegistrationRefused(
        customer_number="10001", email="max@example.de", last_name=last_name, locale=locale,  # type: ignore[arg-type]
        reason=reason, other_address="e***@e***.org",  # type: ignore[arg-type]
    ))


def registration_contested(
    locale: str = "de", last_name: str = "Mustermann", state: str = "waiting"
) -> Event:
    return event_at(RegistrationContested(
        account_id=ACCOUNT, customer_number="10001", email="max@example.de", last_name=last_name,
        locale=locale, state=state,  # type: ignore[arg-type]
    ))


def customer_released(
    locale: str = "de", last_name: str = "Mustermann", status: str = "active"
) -> Event:
    return event_at(CustomerReleased(
        account_id=ACCOUNT, customer_number="10001", email="max@example.de", last_name=last_name,
        locale=locale, status=status,  # type: ignore[arg-type]
    ))


# --- every mail, both languages ------------------------------------------------------

HOSTILE = "<script>alert(1)</script>"
EVERY_EVENT: list[Callable[..., Event]] = [
    registration, reset, account_exists, password_changed, contact, activation_reminder,
    suspicious_logins, registration_refused, registration_contested, customer_released,
    email_change, email_changed,
]
EXPECTED_LINKS = {
    "activation": [f"{BASE}/aktivieren?token={TOKEN}"],
    "password-reset": [f"{BASE}/passwort-zuruecksetzen?token={TOKEN}"],
    "account-exists": [f"{BASE}/"],
    "password-changed": [],
    "contact-support": [],
    "contact-confirmation": [],
    "activation-reminder": [f"{BASE}/aktivieren?token={TOKEN}"],
    "suspicious-logins": [f"{BASE}/passwort-vergessen"],
    "registration-refused": [f"{BASE}/registrieren"],
    "registration-contested": [],
    "customer-released": [],
    "email-change": [f"{BASE}/email-bestaetigen?token={TOKEN}"],
    "email-changed": [],
}
# The other wording of the mails that say one of two things, checked like every mail.
VARIANTS: list[Callable[..., Event]] = [
    lambda locale, name: registration_refused(locale, name, reason="already_held"),
    lambda locale, name: registration_contested(locale, name, state="cancelled"),
    lambda locale, name: customer_released(locale, name, status="pending"),
]
_WEB_LINK = re.compile(r"https?://[^\s<>\"']+")


def every_mail(locale: str, name: str = "Mustermann") -> list[RenderedMail]:
    return [mail for make in EVERY_EVENT for mail in render_mails(make(locale, name))]


class VisibleText(HTMLParser):
    """What a reader sees of an HTML part, a web link shown as its address (as a
    text-only mail client shows it), block elements on lines of their own."""

    BLOCKS = frozenset({"p", "div", "br", "tr", "table", "li", "h1", "h2"})

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[str] = []
        self._hidden = 0  # inside <head>
        self._in_web_link = False
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self._hidden += 1
        if tag in self.BLOCKS:
            self._parts.append("\n")
        if tag == "td":
            self._parts.append(" ")
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.startswith("http"):
            self.links.append(href)
            self._parts.append(f" {href} ")
            self._in_web_link = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._hidden -= 1
        if tag == "a":
            self._in_web_link = False
        if tag in self.BLOCKS:
            self._parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden and not self._in_web_link:
            self._parts.append(data)

    @property
    def text(self) -> str:
        return flat("".join(self._parts))

    def sentences(self) -> list[str]:
        """Lines and sentences, whitespace folded, closing punctuation dropped."""
        pieces = re.split(r"\n|(?<=[.!?:;])\s+", "".join(self._parts))
        return [s for p in pieces if (s := flat(p).rstrip(".!?:;,"))]


def visible(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser


@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_mail_has_its_template_in_each_language(locale: str) -> None:
    mails = every_mail(locale)

    assert [mail.template for mail in mails] == list(EXPECTED_LINKS)
    for mail, other in zip(mails, every_mail("en" if locale == "de" else "de"), strict=True):
        assert mail.locale == locale
        assert f'<html lang="{locale}">' in mail.html
        assert mail.subject and "\n" not in mail.subject
        assert mail.subject != other.subject, "the other language must have its own wording"


@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_mail_links_to_exactly_the_right_portal_pages(locale: str) -> None:
    for mail in every_mail(locale):
        expected = EXPECTED_LINKS[mail.template]
        assert list(dict.fromkeys(_WEB_LINK.findall(mail.text))) == expected, mail.template
        assert visible(mail.html).links == expected, mail.template


@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_mail_escapes_hostile_input_in_html(locale: str) -> None:
    for mail in every_mail(locale, name=HOSTILE):
        assert "<script>" not in mail.html, mail.template
        if mail.template == "contact-confirmation":
            assert "script" not in mail.text + mail.html, "the receipt repeats no input"
            continue
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.html, mail.template
        # Plain text is not markup: the input appears as it was typed.
        assert HOSTILE in mail.text, mail.template


@pytest.mark.parametrize("name", ["Mustermann", HOSTILE])
@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_mail_says_in_plain_text_everything_its_html_says(locale: str, name: str) -> None:
    for mail in every_mail(locale, name):
        text = flat(mail.text)
        html = visible(mail.html)

        missing = [sentence for sentence in html.sentences() if sentence not in text]

        assert missing == [], f"{mail.template}.{locale}: only in the HTML part: {missing}"
        assert len(html.sentences()) >= 5, "the comparison must have read the HTML"
        for address in re.findall(r'href="mailto:([^"]+)"', mail.html):
            assert address in text


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


# --- account exists ------------------------------------------------------------------


def test_account_exists_tells_the_owner_how_to_get_in_and_what_if_it_was_not_them() -> None:
    [planned] = plan_mails(account_exists("de"), CONTEXT)
    mail = render(planned)
    text = flat(mail.text)

    assert mail.to == "max@example.de"
    assert mail.subject == "Registrierungsversuch mit Ihren Daten im Kundenportal"
    assert "am 24.11.2026, 14:30 Uhr hat jemand versucht, sich mit Ihrer Kundennummer" in text
    assert "Dann melden Sie sich bitte mit Ihrer E-Mail-Adresse und Ihrem Passwort" in text
    assert "wählen Sie auf der Login-Seite „Passwort vergessen“" in text
    assert "Waren Sie das nicht, können Sie diese E-Mail ignorieren." in text
    # An answer ("that was not me") should reach a person.
    assert mail.reply_to == "hilfe@portal.example.de"
    assert "Ihre Antwort auf diese E-Mail erreicht unseren Kundenservice." in text
    assert "Bitte antworten Sie nicht" not in text
    assert planned.link_expires_at is None


def test_account_exists_in_english() -> None:
    text = flat(render_mail(account_exists("en")).text)

    assert "On 24 November 2026, 14:30 CET, someone tried to register" in text
    assert 'choose "forgot password" on the login page' in text
    assert "If this was not you, you can ignore this e-mail." in text


# --- password changed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "via", "expected"),
    [
        ("de", "reset", "wurde am 01.07.2026, 12:00 Uhr geändert (über „Passwort vergessen“)."),
        ("de", "change", "wurde am 01.07.2026, 12:00 Uhr geändert (in Ihrem Benutzerkonto)."),
        ("en", "reset", 'was changed on 1 July 2026, 12:00 CEST (using "forgot password").'),
        ("en", "change", "was changed on 1 July 2026, 12:00 CEST (in your user account)."),
    ],
)
def test_password_changed_says_when_and_how(locale: str, via: str, expected: str) -> None:
    mail = render_mail(password_changed(locale, via=via))

    assert expected in flat(mail.text)
    assert expected in visible(mail.html).text


def test_password_changed_points_to_support_if_it_was_not_them() -> None:
    mail = render_mail(password_changed("de"))
    text = flat(mail.text)

    assert mail.subject == "Ihr Passwort für das Kundenportal wurde geändert"
    assert (
        "Wenn Sie Ihr Passwort nicht geändert haben, wenden Sie sich bitte umgehend an "
        "unseren Kundenservice unter hilfe@portal.example.de." in text
    )
    assert 'href="mailto:hilfe@portal.example.de"' in mail.html
    assert mail.reply_to == "hilfe@portal.example.de"
    english = flat(render_mail(password_changed("en")).text)
    assert "If you did not change your password, please contact our customer service" in english


# --- proof of ownership: refused, contested, released ---------------------------------


@pytest.mark.parametrize("name", ["Mustermann", HOSTILE])
@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_variant_says_in_plain_text_what_its_html_says_and_escapes_input(locale: str, name: str) -> None:
    for make in VARIANTS:
        mail = render_mail(make(locale, name))
        missing = [s for s in visible(mail.html).sentences() if s not in flat(mail.text)]
        assert missing == [], f"{mail.template}.{locale}: only in the HTML part: {missing}"
        assert "<script>" not in mail.html
        assert _WEB_LINK.findall(mail.text) == [] and visible(mail.html).links == []
        assert mail.subject not in {other.subject for other in every_mail(locale, name)}


def test_a_registration_with_another_address_tells_the_address_on_file_what_to_do() -> None:
    mail = render_mail(registration_refused("de"))
    text = flat(mail.text)

    assert mail.to == "max@example.de"
    assert mail.subject == "Registrierungsversuch mit Ihrer Kundennummer im Kundenportal"
    assert (
        "am 24.11.2026, 14:30 Uhr hat jemand versucht, sich mit Ihrer Kundennummer 10001 und "
        "der E-Mail-Adresse e***@e***.org im Kundenportal zu registrieren." in text
    )
    assert "Eine Registrierung ist nur mit ihr möglich, daher wurde kein Benutzerkonto angelegt." in text
    assert f"Dann registrieren Sie sich bitte erneut und geben Sie dabei diese E-Mail-Adresse an: {BASE}/registrieren" in text
    assert "Waren Sie das nicht, müssen Sie nichts tun." in text
    assert mail.reply_to == "hilfe@portal.example.de"
    assert "Ihre Antwort auf diese E-Mail erreicht unseren Kundenservice." in text
    english = flat(render_mail(registration_refused("en")).text)
    assert "with your customer number 10001 and the e-mail address e***@e***.org" in english
    assert "Registration is only possible with it, so no user account was created." in english


def test_an_account_with_another_address_holding_the_number_is_told_to_the_address_on_file() -> None:
    mail = render_mail(registration_refused("de", reason="already_held"))
    text = flat(mail.text)

    assert mail.subject == "Ihre Kundennummer ist bereits mit einem anderen Benutzerkonto verbunden"
    assert "bereits ein Benutzerkonto mit einer anderen E-Mail-Adresse (e***@e***.org)" in text
    assert "Wir prüfen das Benutzerkonto und lösen es von Ihrer Kundennummer." in text
    assert "hilfe@portal.example.de" in text
    english = flat(render_mail(registration_refused("en", reason="already_held")).text)
    assert "a user account with a different e-mail address (e***@e***.org) already exists" in english


@pytest.mark.parametrize(
    ("state", "locale", "subject", "says"),
    [
        ("waiting", "de", "Weitere Registrierung mit Ihrer Kundennummer im Kundenportal",
         "Ihre eigene Registrierung bleibt davon unberührt: Bestätigen Sie sie wie gewohnt über den Link aus unserer ersten E-Mail."),
        ("cancelled", "de", "Ihre Registrierung im Kundenportal wurde nicht abgeschlossen",
         "Ihre eigene, noch nicht bestätigte Registrierung mit dieser E-Mail-Adresse ist damit verfallen"),
        ("waiting", "en", "Another registration with your customer number in the customer portal",
         "Your own registration is not affected: confirm it as usual with the link in our first e-mail."),
        ("cancelled", "en", "Your registration for the customer portal was not completed",
         "Your own registration with this e-mail address, which was not yet confirmed, has therefore lapsed"),
    ],
)
def test_an_earlier_registration_hears_of_a_later_one(state: str, locale: str, subject: str, says: str) -> None:
    mail = render_mail(registration_contested(locale, state=state))

    assert (mail.to, mail.subject, mail.reply_to) == ("max@example.de", subject, "hilfe@portal.example.de")
    assert says in flat(mail.text)
    assert "10001" in mail.text


@pytest.mark.parametrize(
    ("status", "locale", "subject", "says"),
    [
        ("active", "de", "Ihr Benutzerkonto im Kundenportal wurde gelöscht",
         "Ihr Benutzerkonto mit dieser E-Mail-Adresse wurde dabei gelöscht."),
        ("pending", "de", "Ihre Registrierung im Kundenportal wurde aufgehoben",
         "Ihre noch nicht bestätigte Registrierung mit dieser E-Mail-Adresse wurde dabei gelöscht."),
        ("active", "en", "Your customer portal user account was deleted",
         "Your user account with this e-mail address was deleted in the process."),
        ("pending", "en", "Your customer portal registration was cancelled",
         "which was not yet confirmed, was deleted in the process."),
    ],
)
def test_a_released_holder_is_told_what_support_did(status: str, locale: str, subject: str, says: str) -> None:
    mail = render_mail(customer_released(locale, status=status))
    text = flat(mail.text)

    assert (mail.to, mail.subject, mail.reply_to) == ("max@example.de", subject, "hilfe@portal.example.de")
    assert says in text
    assert ("am 24.11.2026, 14:30 Uhr hat unser Kundenservice die Kundennummer 10001" in text) == (locale == "de")


# --- contact form --------------------------------------------------------------------


def test_email_change_goes_to_the_new_address_with_its_link_and_expiry() -> None:
    mail = render_mail(email_change())
    assert mail.to == "max.neu@example.de"
    assert mail.subject == "Bitte bestätigen Sie Ihre neue E-Mail-Adresse für das Kundenportal"
    text = flat(mail.text)
    assert f"{BASE}/email-bestaetigen?token={TOKEN}" in text
    assert "nur 24 Stunden gültig ist (gültig bis 25.11.2026, 14:30 Uhr)" in text
    assert "bleibt Ihre bisherige E-Mail-Adresse gültig" in text
    assert mail.reply_to is None


def test_email_change_in_english() -> None:
    mail = render_mail(email_change("en"))
    assert mail.subject == "Please confirm your new e-mail address for the customer portal"
    assert "valid for 24 hours" in flat(mail.text)


def test_an_expired_email_change_link_is_not_sent() -> None:
    [mail] = plan_mails(email_change(), CONTEXT)
    assert mail.link_expires_at == EXPIRES_WINTER


@pytest.mark.parametrize("locale", ["de", "en"])
def test_email_changed_tells_the_old_address_the_new_one_and_whom_to_ask(locale: str) -> None:
    mail = render_mail(email_changed(locale))
    assert mail.to == "max@example.de"
    assert mail.reply_to == "hilfe@portal.example.de"
    text = flat(mail.text)
    assert "max.neu@example.de" in text and "hilfe@portal.example.de" in text
    assert ("01.07.2026, 12:00 Uhr" if locale == "de" else "1 July 2026, 12:00 CEST") in text


def test_contact_request_goes_to_support_with_the_customer_as_reply_to() -> None:
    support, _ = render_mails(contact("de"))
    text = support.text

    assert support.template == "contact-support"
    assert support.to == "hilfe@portal.example.de"
    assert support.reply_to == "Max Mustermann <max@example.de>"
    assert support.subject == "Kontaktanfrage: Frage zur Rechnung Max Mustermann"
    assert "Name: Max Mustermann" in text
    assert "E-Mail-Adresse: max@example.de" in text
    assert "Kundennummer: 10001" in text
    assert "Eingegangen: 24.11.2026, 14:30 Uhr" in text
    assert "Vorgangsnummer A53BA71A" in text
    # The message as written, line breaks kept (HTML keeps them with pre-wrap).
    assert "Guten Tag,\nich habe eine Frage von Max Mustermann.\n\nGruß" in text
    assert "white-space:pre-wrap" in support.html


@pytest.mark.parametrize("locale", ["de", "en"])
def test_contact_receipt_goes_to_the_sender_and_repeats_nothing_they_wrote(locale: str) -> None:
    # The form takes any address: whatever the receipt repeated, anyone could send from
    # our domain to anyone. Here the "name" is the phishing text.
    phishing = "Ihr Konto wird gesperrt! Bestätigen Sie hier: https://evil.example/login"
    _, receipt = render_mails(contact(
        locale, name=phishing, subject="Cheap pills https://spam.example/buy",
        message="Visit spam.example", customer_number="Rufen Sie 0900 123 an",
    ))

    assert receipt.template == "contact-confirmation"
    assert receipt.to == "max@example.de"
    assert receipt.reply_to == "hilfe@portal.example.de"
    everything = receipt.text + receipt.html + receipt.subject
    for chosen_by_the_sender in ("gesperrt", "evil.example", "Cheap pills", "spam.example", "0900"):
        assert chosen_by_the_sender not in everything
    assert "A53BA71A" in flat(receipt.text)
    if locale == "en":
        assert receipt.subject == "Your message to our customer service has been received"
        assert flat(receipt.text).startswith("Hello, Thank you for your message")
        assert "Your reference number is A53BA71A." in flat(receipt.text)
    else:
        assert flat(receipt.text).startswith("Guten Tag, vielen Dank für Ihre Nachricht")


def test_contact_without_customer_number_says_so() -> None:
    support, _ = render_mails(contact("de", customer_number=None))

    assert "Kundennummer: nicht angegeben" in support.text


def test_a_subject_with_line_breaks_cannot_add_headers() -> None:
    support, _ = render_mails(contact("de", subject="Hallo\r\nBcc: everyone@example.de"))
    message = received(build_message(support, SENDER, OCCURRED, EVENT_ID))

    assert support.subject == "Kontaktanfrage: Hallo Bcc: everyone@example.de"
    assert message["Bcc"] is None


def test_a_long_subject_is_shortened() -> None:
    support, _ = render_mails(contact("de", subject="x" * 500))

    assert len(support.subject) < 150
    assert support.subject.endswith("…")


def test_an_address_that_cannot_be_a_header_leaves_reply_to_out_but_reaches_support() -> None:
    support, _ = render_mails(contact("de", email="not an address"))

    assert support.reply_to is None
    assert "E-Mail-Adresse: not an address" in support.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a\r\nb\tc", "a b c"), ("  kurz  ", "kurz"), ("abcdefghij", "abcdefghij"),
     ("abcdefghijk", "abcdefghi…")],
)
def test_one_line(text: str, expected: str) -> None:
    assert one_line(text, 10) == expected


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


EVENT_ID = UUID("9b0c6a1e-0000-4000-8000-000000000002")


def received(message: Message) -> EmailMessage:
    """The message as a mail client reads it: serialised, then parsed."""
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def test_message_is_multipart_alternative_with_the_needed_headers_only() -> None:
    now = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)
    mail = render_mail(registration())
    message = received(build_message(mail, SENDER, now, EVENT_ID))

    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == SENDER
    assert message["To"] == "max@example.de"
    assert message["Reply-To"] is None
    assert message["Subject"] == mail.subject
    assert parsedate_to_datetime(message["Date"]) == now
    assert message["Message-ID"].strip() == f"<{EVENT_ID}.activation@portal.example.de>"
    assert message["Content-Language"] == "de"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_body(("plain",)).get_content() == mail.text  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content() == mail.html  # type: ignore[union-attr]
    # Nothing more personal than the address the mail goes to.
    raw = message.as_string()
    assert "10001" not in raw
    assert str(ACCOUNT) not in raw


def test_non_ascii_names_and_subjects_are_encoded_and_read_back_intact() -> None:
    support, _ = render_mails(contact("de", name="Jürgen Müller-Lüdenscheidt"))
    sender = "Kundenportal Süd <no-reply@portal.example.de>"

    raw = build_message(support, sender, OCCURRED, EVENT_ID).as_bytes()
    message = received(build_message(support, sender, OCCURRED, EVENT_ID))

    assert raw.isascii(), "headers and bodies travel as 7-bit"
    assert message["From"] == sender
    assert message["Reply-To"] == "Jürgen Müller-Lüdenscheidt <max@example.de>"
    assert message["Subject"] == "Kontaktanfrage: Frage zur Rechnung Jürgen Müller-Lüdenscheidt"
    assert "Name: Jürgen Müller-Lüdenscheidt" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("to", ["max@example.de\r\nBcc: all@example.de", "max@example.de\nX: y"])
def test_a_line_break_in_an_address_cannot_add_a_header(to: str) -> None:
    mail = dataclasses.replace(render_mail(registration()), to=to)

    with pytest.raises(ValueError, match="not a mail address|line break"):
        build_message(mail, SENDER, OCCURRED, EVENT_ID)


ENCODED_WORD_ATTACK = "=?utf-8?q?Chef=0D=0ABcc=3A_x=40evil.example?="


def test_an_encoded_word_typed_as_a_name_reads_back_as_typed_and_adds_no_header() -> None:
    support, _ = render_mails(contact("de", name=ENCODED_WORD_ATTACK, subject=ENCODED_WORD_ATTACK))

    raw = build_message(support, SENDER, OCCURRED, EVENT_ID).as_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)

    # Not verbatim in the raw header, where a mail program would decode it…
    assert b"=?utf-8?q?Chef" not in raw
    # …but itself encoded, so it decodes to the characters typed: no line break, no Bcc.
    [reply_to] = message["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == (ENCODED_WORD_ATTACK, "max@example.de")
    assert message["Subject"] == f"Kontaktanfrage: {ENCODED_WORD_ATTACK}"
    assert message["Bcc"] is None
    for name in ("Reply-To", "Subject"):
        assert "\n" not in str(message[name]) and "\r" not in str(message[name])


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Müller, Hans (Einkauf)", "Müller, Hans (Einkauf)"), ('Max "Chef" Mustermann', 'Max "Chef" Mustermann'),
     ("Max\x07 Mustermann", "Max Mustermann")],
)
def test_names_with_specials_stay_one_display_name(name: str, shown: str) -> None:
    support, _ = render_mails(contact("de", name=name))
    message = received(build_message(support, SENDER, OCCURRED, EVENT_ID))

    [reply_to] = message["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == (shown, "max@example.de")


def test_an_internationalised_domain_is_addressed_in_punycode() -> None:
    mail = render_mail(registration(email="Max@müller.de"))
    support, receipt = render_mails(contact("de", email="erika@straße.de"))

    message = received(build_message(mail, SENDER, OCCURRED, EVENT_ID))
    assert message["To"] == "Max@xn--mller-kva.de"
    assert received(build_message(receipt, SENDER, OCCURRED, EVENT_ID))["To"] == (
        "erika@xn--strae-oqa.de"
    )
    [reply_to] = received(build_message(support, SENDER, OCCURRED, EVENT_ID))["Reply-To"].addresses
    assert reply_to.addr_spec == "erika@xn--strae-oqa.de"
    # Support reads the address as the customer wrote it.
    assert "E-Mail-Adresse: erika@straße.de" in support.text


def test_a_local_part_that_is_not_ascii_cannot_be_addressed_but_support_gets_the_request() -> None:
    support, receipt = render_mails(contact("de", email="jörg@example.de"))

    assert support.reply_to is None
    assert "E-Mail-Adresse: jörg@example.de" in support.text
    build_message(support, SENDER, OCCURRED, EVENT_ID)
    with pytest.raises(UnsupportedAddress):
        build_message(receipt, SENDER, OCCURRED, EVENT_ID)


def test_a_mail_keeps_its_message_id_across_sends_and_other_mails_get_their_own() -> None:
    # A resend (the crash window) carries the same Message-ID, so mailbox providers that
    # deduplicate show it once; every other mail is distinct.
    support, receipt = render_mails(contact())
    now = datetime(2026, 11, 24, tzinfo=UTC)
    other_event = UUID("9b0c6a1e-0000-4000-8000-000000000003")

    first = build_message(support, SENDER, now, EVENT_ID)["Message-ID"]
    assert build_message(support, SENDER, now + timedelta(minutes=5), EVENT_ID)["Message-ID"] == first
    assert build_message(receipt, SENDER, now, EVENT_ID)["Message-ID"] != first
    assert build_message(support, SENDER, now, other_event)["Message-ID"] != first


class Unmailed(Payload):
    event_type = "something-else"
    schema_version = 1
    routing_key = "auth.something-else"


def test_an_event_without_a_mail_is_refused() -> None:
    envelope = Envelope(
        event_type="something-else", schema_version=1, correlation_id="test", payload={}
    )

    with pytest.raises(NotMailable):
        plan_mails(Event(envelope=envelope, payload=Unmailed()), CONTEXT)


# --- not activated yet; someone is guessing ----------------------------------------------


def test_activation_reminder_says_the_account_is_not_activated_yet() -> None:
    mail = render_mail(activation_reminder())
    assert mail.subject == "Sie haben Ihr Konto im Kundenportal noch nicht aktiviert"
    assert mail.to == "max@example.de"
    text = flat(mail.text)
    assert "Sie haben Ihr Benutzerkonto aber noch nicht aktiviert" in text
    assert "Ältere Aktivierungslinks gelten nicht mehr" in text
    assert "25.11.2026, 14:30 Uhr" in text  # the link's end, in Berlin time
    english = render_mail(activation_reminder("en"))
    assert english.subject == "You have not activated your customer portal account yet"


def test_suspicious_logins_tells_the_owner_it_is_not_locked_and_how_to_get_a_new_password() -> None:
    mail = render_mail(suspicious_logins())
    assert mail.subject == "Fehlgeschlagene Anmeldeversuche bei Ihrem Benutzerkonto im Kundenportal"
    assert mail.reply_to == "hilfe@portal.example.de"
    text = flat(mail.text)
    assert "bis 24.11.2026, 14:30 Uhr gab es 5 fehlgeschlagene Versuche" in text
    assert "Ihr Benutzerkonto ist nicht gesperrt" in text
    assert f"{BASE}/passwort-vergessen" in text
    assert "Neues Passwort vergeben" in mail.html
    english = flat(render_mail(suspicious_logins("en")).text)
    assert "Your user account is not locked" in english
