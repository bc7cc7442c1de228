"""Request bodies of the auth API. Shape only; the rules live in `domain/`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError

from portal_auth.domain import email

MAX_PASSWORD_LENGTH = 1024  # far above any policy limit; bounds the hashing work
MAX_ALTCHA_LENGTH = 1000  # a solved challenge (base64 JSON) is about 350 characters


def _valid_email(value: str) -> str:
    try:
        return email.normalise(value)
    except email.InvalidAddress as exc:
        # `invalid_email`, or `email_not_supported` (its own problem type, see README)
        raise PydanticCustomError(exc.code, "e-mail address not accepted") from None


Email = Annotated[str, Field(min_length=3, max_length=email.MAX_LENGTH), AfterValidator(_valid_email)]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class RegisterRequest(Body):
    last_name: str = Field(min_length=1, max_length=200)
    customer_number: str = Field(min_length=1, max_length=64)
    email: Email
    password: Password
    accept_terms: StrictBool
    accept_privacy: StrictBool
    locale: Literal["de", "en"] = "de"
    # A solved challenge (base64 ALTCHA payload); needed after several wrong last names.
    altcha: str | None = Field(None, max_length=MAX_ALTCHA_LENGTH)
    registration_code: str | None = Field(
        None, max_length=100,
        description="The code from our letter, where one was sent (then required; a wrong or "
        "missing code is customer_mismatch). Case, spaces and dashes do not matter.",
    )


class ActivateRequest(Body):
    token: str = Field(min_length=1, max_length=200)


class ResendActivationRequest(Body):
    email: Email


class LoginRequest(Body):
    email: str = Field(min_length=1, max_length=email.MAX_LENGTH)
    password: Password
    # A solved challenge (base64 ALTCHA payload); needed after several failed logins.
    altcha: str | None = Field(None, max_length=MAX_ALTCHA_LENGTH)
    # From an earlier successful login in this browser: its failures are counted apart.
    device_token: str | None = Field(None, max_length=200)


class RefreshRequest(Body):
    refresh_token: str = Field(min_length=1, max_length=200)


class ForgotPasswordRequest(Body):
    customer_number: str = Field(min_length=1, max_length=64)
    email: Email


class ResetLinkRequest(Body):
    token: str = Field(min_length=1, max_length=200)


class ResetPasswordRequest(Body):
    token: str = Field(min_length=1, max_length=200)
    password: Password


class ChangePasswordRequest(Body):
    current_password: Password
    new_password: Password


class DeleteAccountRequest(Body):
    password: Password


class ChangeEmailRequest(Body):
    new_email: Email
    password: Password


class ConfirmEmailRequest(Body):
    token: str = Field(min_length=1, max_length=200)


class CheckPasswordRequest(Body):
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    email: str | None = Field(None, max_length=email.MAX_LENGTH)
    last_name: str | None = Field(None, max_length=200)
    customer_number: str | None = Field(None, max_length=64)
