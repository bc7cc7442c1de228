"""What each form asks for, what the portal checks before an API is asked, and how an
API's problem answer becomes messages at the fields (GOV.UK error pattern)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Fields in the order the page shows them: the error summary lists errors in this order.
REGISTER = (
    "last_name", "customer_number", "registration_code", "email", "password", "accept_terms", "accept_privacy"
)
# Only customers who were sent a code by letter fill it in.
REGISTER_OPTIONAL = ("registration_code",)
REGISTER_CONSENT = ("accept_terms", "accept_privacy")
LOGIN = ("email", "password")
FORGOT = ("customer_number", "email")
RESEND = ("email",)
RESET = ("password", "password_confirm")
CHANGE_PASSWORD = ("current_password", "new_password", "new_password_confirm")
CHANGE_EMAIL = ("new_email", "email_password")
DELETE_ACCOUNT = ("password", "confirm")
CONTACT = ("name", "email", "customer_number", "subject", "message")
PASSWORD_FIELDS = frozenset(
    {"password", "password_confirm", "current_password", "new_password", "new_password_confirm",
     "email_password"}
)

MAX_ALTCHA = 1000  # a solved challenge as the page's script sends it (~350 characters)
MAX_DEVICE_TOKEN = 200

# A spent token or solution is never shown again.
_NOT_KEPT = frozenset({"csrf_token", "altcha"})

# The longest value a field may carry (the APIs' limits); longer input is refused here.
MAX_LENGTH = {"last_name": 200, "customer_number": 64, "registration_code": 100, "email": 320,
              "new_email": 320, "name": 200, "subject": 200, "message": 5000}


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str


def values_to_keep(form: Mapping[str, str]) -> dict[str, str]:
    """What the page shows again after an error: everything but passwords."""
    return {k: v for k, v in form.items() if k not in PASSWORD_FIELDS and k not in _NOT_KEPT}


def missing(form: Mapping[str, str], fields: Iterable[str], optional: Iterable[str] = ()) -> list[FieldError]:
    errors = []
    skip = set(optional)
    for name in fields:
        value = form.get(name, "")
        if name in skip and not value.strip():
            continue  # an optional field may stay empty; filled in, it must still fit
        if not value.strip():
            errors.append(FieldError(name, "required"))
        elif len(value) > MAX_LENGTH.get(name, 1024):
            errors.append(FieldError(name, "too_long"))
        elif name in ("email", "new_email") and not looks_like_email(value):
            errors.append(FieldError(name, "invalid_email"))
    return errors


def looks_like_email(value: str) -> bool:
    """Only the shape; the API decides the rest."""
    local, at, domain = value.strip().rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in value.strip()))


def confirmation(form: Mapping[str, str], field: str, repeat: str) -> list[FieldError]:
    if form.get(repeat) and form.get(field) != form.get(repeat):
        return [FieldError(repeat, "mismatch")]
    return []


# The rule auth adds to the policy's for a new password that is one of the last few.
NOT_REUSED = "not_reused"

# Problem codes that belong to fields, when the API names none itself.
_CODE_FIELDS = {
    # Auth does not say which of them is wrong (that would tell a guesser which half of
    # the invoice data was right); a code field is marked too, its text says "if you have one".
    "customer_mismatch": ("last_name", "customer_number", "registration_code"),
    "current_password_invalid": ("current_password", "email_password"),
    "email_unchanged": ("new_email",),
    "password_policy": ("password",),
    "invalid_credentials": ("email",),
    "challenge_required": ("password",),
}


def from_problem(code: str, errors: Iterable[tuple[str, str]], fields: tuple[str, ...]) -> list[FieldError]:
    """Field errors from an API answer; the problem's own code when it names no field."""
    found = []
    for field, field_code in errors:
        if field in fields and not any(e.field == field for e in found):
            # A recent password breaks no rule of the list on the page: it gets its own text.
            policy = code == "password_policy" and field_code != NOT_REUSED
            found.append(FieldError(field, code if policy else field_code))
    if not found:
        found = [FieldError(f, code) for f in _CODE_FIELDS.get(code, ()) if f in fields]
    if not found and fields:
        found = [FieldError(fields[0], code or "invalid")]
    return in_form_order(found, fields)


def in_form_order(errors: Iterable[FieldError], fields: tuple[str, ...]) -> list[FieldError]:
    order = {name: i for i, name in enumerate(fields)}
    return sorted(errors, key=lambda e: order.get(e.field, len(order)))


def broken_rules(errors: Iterable[tuple[str, str]]) -> list[str]:
    """The password rule ids an API answer lists as broken."""
    return [code for field, code in errors if field.endswith("password")]


def challenge_fields(form: Mapping[str, str], device_token: str | None = None) -> dict[str, str]:
    """What goes to auth besides the form's own fields: the solved challenge the page's
    script put into the form (`altcha`), and the browser's device token."""
    fields = {}
    altcha = form.get("altcha", "").strip()
    if 0 < len(altcha) <= MAX_ALTCHA:
        fields["altcha"] = altcha
    if device_token:
        fields["device_token"] = device_token
    return fields


def had_challenge(form: Mapping[str, str]) -> bool:
    """Whether the posted page embedded the check (it stays on the page after an error)."""
    return form.get("challenge") == "1"


def wait_minutes(seconds: int | None) -> int:
    """A waiting time as people read it: whole minutes, at least one."""
    return max(1, -(-(seconds or 60) // 60))
