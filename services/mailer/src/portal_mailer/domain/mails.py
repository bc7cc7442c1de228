"""Which mails an event leads to, to whom, with what in them (pure rules, no I/O).

`plan_mails` turns an event into one or more `PlannedMail`s: the template, the
recipient, a Reply-To where answering helps, and the values the template shows, already
formatted for the recipient's language and time zone. Rendering them is `rendering`'s
job; sending them `delivery`'s.

The template name is also the mail's kind: the mailer records (event id, template) once
a mail is sent, so an event with two mails (the contact form) can be retried after the
first went out without sending that one again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from portal_mailer.domain.formatting import (
    display_name,
    format_moment,
    format_validity,
    one_line,
    portal_url,
)
from portal_shared.email_address import InvalidAddress, smtp_form
from portal_shared.events import (
    AccountExists,
    ActivationReminder,
    ContactRequested,
    CustomerReleased,
    EmailChanged,
    EmailChangeRequested,
    Event,
    Locale,
    PasswordChanged,
    Payload,
    RegistrationContested,
    RegistrationCreated,
    RegistrationRefused,
    ResetRequested,
    SuspiciousLogins,
)

if TYPE_CHECKING:
    from portal_mailer.config import MailerSettings

ACTIVATION_PATH = "/aktivieren"
REGISTER_PATH = "/registrieren"
RESET_PATH = "/passwort-zuruecksetzen"
FORGOT_PATH = "/passwort-vergessen"
EMAIL_CONFIRM_PATH = "/email-bestaetigen"
SUBJECT_MAX_CHARS = 120


@dataclass(frozen=True)
class MailContext:
    """What planning needs besides the event."""

    portal_base_url: str
    support_email: str
    timezone: ZoneInfo

    @classmethod
    def from_settings(cls, settings: MailerSettings) -> MailContext:
        return cls(
            str(settings.portal_base_url), settings.support_email, ZoneInfo(settings.mail_timezone)
        )


@dataclass(frozen=True)
class PlannedMail:
    template: str
    locale: Locale
    to: str
    values: Mapping[str, Any]
    reply_to: str | None = None
    # When the link in the mail stops working; such a mail is not sent after that.
    link_expires_at: datetime | None = None


class NotMailable(ValueError):
    """The event is valid but no mail belongs to it."""


def plan_mails(event: Event, context: MailContext) -> list[PlannedMail]:
    planner = _PLANNERS.get(type(event.payload))
    if planner is None:
        raise NotMailable(f"no mail for {event.envelope.event_type}")
    return planner(event, context)


def link_expired(mail: PlannedMail, now: datetime) -> bool:
    return mail.link_expires_at is not None and mail.link_expires_at <= now


# --- one planner per event type ------------------------------------------------------


def _activation(event: Event, context: MailContext) -> list[PlannedMail]:
    payload = _payload(event, RegistrationCreated)
    return [_link_mail("activation", event, payload, context, ACTIVATION_PATH,
                       payload.activation_token, payload.expires_at)]


def _activation_reminder(event: Event, context: MailContext) -> list[PlannedMail]:
    """"You have not activated your account yet": the right password of a pending account
    was entered at login, which the login page answered like a wrong one."""
    payload = _payload(event, ActivationReminder)
    return [_link_mail("activation-reminder", event, payload, context, ACTIVATION_PATH,
                       payload.activation_token, payload.expires_at)]


def _password_reset(event: Event, context: MailContext) -> list[PlannedMail]:
    payload = _payload(event, ResetRequested)
    return [_link_mail("password-reset", event, payload, context, RESET_PATH,
                       payload.reset_token, payload.expires_at)]


def _email_change(event: Event, context: MailContext) -> list[PlannedMail]:
    payload = _payload(event, EmailChangeRequested)
    return [_link_mail("email-change", event, payload, context, EMAIL_CONFIRM_PATH,
                       payload.confirm_token, payload.expires_at)]


def _link_mail(
    template: str,
    event: Event,
    payload: RegistrationCreated | ActivationReminder | ResetRequested | EmailChangeRequested,
    context: MailContext,
    path: str,
    token: str,
    expires_at: datetime,
) -> PlannedMail:
    values = {
        "last_name": payload.last_name,
        "link": portal_url(context.portal_base_url, path, token=token),
        "expires": format_moment(expires_at, context.timezone, payload.locale),
        "validity": format_validity(event.envelope.occurred_at, expires_at, payload.locale),
        **_support(context, replies_reach_support=False),
    }
    return PlannedMail(template, payload.locale, payload.email, values,
                       link_expires_at=expires_at)


def _account_exists(event: Event, context: MailContext) -> list[PlannedMail]:
    payload = _payload(event, AccountExists)
    values = {
        "last_name": payload.last_name,
        "attempted_at": format_moment(event.envelope.occurred_at, context.timezone, payload.locale),
        "portal_link": portal_url(context.portal_base_url, "/"),
        **_support(context, replies_reach_support=True),
    }
    # Security notices invite an answer ("that was not me"), so replies go to support.
    return [PlannedMail("account-exists", payload.locale, payload.email, values,
                        reply_to=context.support_email)]


def _suspicious_logins(event: Event, context: MailContext) -> list[PlannedMail]:
    """Someone is guessing the password: the account is not locked, and the way to a new
    password is one link away (the forgot page, not a reset token nobody asked for)."""
    payload = _payload(event, SuspiciousLogins)
    values = {
        "last_name": payload.last_name,
        "noticed_at": format_moment(event.envelope.occurred_at, context.timezone, payload.locale),
        "failed_attempts": payload.failed_attempts,
        "forgot_link": portal_url(context.portal_base_url, FORGOT_PATH),
        **_support(context, replies_reach_support=True),
    }
    return [PlannedMail("suspicious-logins", payload.locale, payload.email, values,
                        reply_to=context.support_email)]


def _password_changed(event: Event, context: MailContext) -> list[PlannedMail]:
    payload = _payload(event, PasswordChanged)
    values = {
        "last_name": payload.last_name,
        "changed_at": format_moment(payload.changed_at, context.timezone, payload.locale),
        "via": payload.via,
        **_support(context, replies_reach_support=True),
    }
    return [PlannedMail("password-changed", payload.locale, payload.email, values,
                        reply_to=context.support_email)]


def _registration_refused(event: Event, context: MailContext) -> list[PlannedMail]:
    """To the address on file: what was tried, and what to do (register with this
    address, or have support release the customer number)."""
    payload = _payload(event, RegistrationRefused)
    values = {
        "last_name": payload.last_name,
        "customer_number": payload.customer_number,
        "attempted_at": format_moment(event.envelope.occurred_at, context.timezone, payload.locale),
        "reason": payload.reason,
        "other_address": payload.other_address,
        "register_link": portal_url(context.portal_base_url, REGISTER_PATH),
        **_support(context, replies_reach_support=True),
    }
    return [PlannedMail("registration-refused", payload.locale, payload.email, values,
                        reply_to=context.support_email)]


def _registration_contested(event: Event, context: MailContext) -> list[PlannedMail]:
    payload = _payload(event, RegistrationContested)
    values = {
        "last_name": payload.last_name,
        "customer_number": payload.customer_number,
        "happened_at": format_moment(event.envelope.occurred_at, context.timezone, payload.locale),
        "state": payload.state,
        **_support(context, replies_reach_support=True),
    }
    return [PlannedMail("registration-contested", payload.locale, payload.email, values,
                        reply_to=context.support_email)]


def _customer_released(event: Event, context: MailContext) -> list[PlannedMail]:
    payload = _payload(event, CustomerReleased)
    values = {
        "last_name": payload.last_name,
        "customer_number": payload.customer_number,
        "released_at": format_moment(event.envelope.occurred_at, context.timezone, payload.locale),
        "status": payload.status,
        **_support(context, replies_reach_support=True),
    }
    return [PlannedMail("customer-released", payload.locale, payload.email, values,
                        reply_to=context.support_email)]


def _email_changed(event: Event, context: MailContext) -> list[PlannedMail]:
    """To the old address: what changed and when, and whom to tell if it was not them."""
    payload = _payload(event, EmailChanged)
    values = {
        "last_name": payload.last_name,
        "new_email": payload.new_email,
        "changed_at": format_moment(payload.changed_at, context.timezone, payload.locale),
        **_support(context, replies_reach_support=True),
    }
    return [PlannedMail("email-changed", payload.locale, payload.email, values,
                        reply_to=context.support_email)]


def _contact(event: Event, context: MailContext) -> list[PlannedMail]:
    """Support gets the request (answering reaches the customer), the sender a receipt.

    The receipt repeats nothing the sender wrote, not even the name or the subject: the
    form accepts any address, and anything of theirs in it would let anyone send text of
    their choosing ("Ihr Konto wird gesperrt! …") from our domain to anyone. It names
    the case number only.
    """
    payload = _payload(event, ContactRequested)
    reference = payload.contact_id.hex[:8].upper()
    to_support = {
        "name": payload.name,
        "email": payload.email,
        "customer_number": payload.customer_number,
        "subject_line": one_line(payload.subject, SUBJECT_MAX_CHARS),
        "message": payload.message,
        "received_at": format_moment(event.envelope.occurred_at, context.timezone, payload.locale),
        "reference": reference,
    }
    receipt = {
        "reference": reference,
        **_support(context, replies_reach_support=True),
    }
    return [
        PlannedMail("contact-support", payload.locale, context.support_email, to_support,
                    reply_to=_mailbox(payload.name, payload.email)),
        PlannedMail("contact-confirmation", payload.locale, payload.email, receipt,
                    reply_to=context.support_email),
    ]


def _support(context: MailContext, replies_reach_support: bool) -> dict[str, Any]:
    return {"support_email": context.support_email, "replies_reach_support": replies_reach_support}


def _mailbox(name: str, address: str) -> str | None:
    """'Name <address>' (not yet encoded: `rendering` encodes headers, and neutralises
    what is in the name); None when the address cannot be mailed (support still gets
    the request, whose text shows the address as typed)."""
    try:
        ascii_address = smtp_form(address)
    except InvalidAddress:
        return None
    return str(Address(display_name=display_name(name), addr_spec=ascii_address))


P = TypeVar("P", bound=Payload)


def _payload(event: Event, kind: type[P]) -> P:
    assert isinstance(event.payload, kind)
    return event.payload


_PLANNERS: dict[type[Payload], Callable[[Event, MailContext], list[PlannedMail]]] = {
    RegistrationCreated: _activation,
    AccountExists: _account_exists,
    ResetRequested: _password_reset,
    PasswordChanged: _password_changed,
    ContactRequested: _contact,
    ActivationReminder: _activation_reminder,
    SuspiciousLogins: _suspicious_logins,
    RegistrationRefused: _registration_refused,
    RegistrationContested: _registration_contested,
    CustomerReleased: _customer_released,
    EmailChangeRequested: _email_change,
    EmailChanged: _email_changed,
}
