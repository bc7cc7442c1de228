"""The HTTP edge's answer to each refusal of a use case (`domain.errors`): problem+json,
status, text, extension members and headers as the API has always given them."""

from __future__ import annotations

from aiohttp import web

from portal_auth.domain import errors
from portal_auth.problems import (
    ACCOUNT_NOT_ACTIVATED,
    ALREADY_ACTIVATED,
    CHALLENGE_REQUIRED,
    CURRENT_PASSWORD_INVALID,
    CUSTOMER_MISMATCH,
    EMAIL_CHANGE_TOKEN_EXPIRED,
    EMAIL_TAKEN,
    EMAIL_UNCHANGED,
    INVALID_CREDENTIALS,
    PASSWORD_POLICY,
    REFRESH_TOKEN_INVALID,
    RESET_TOKEN_EXPIRED,
    SESSION_NOT_FOUND,
    TERMS_NOT_ACCEPTED,
    TOKEN_EXPIRED,
    TOKEN_INVALID,
)
from portal_shared.problems import UNAUTHORIZED, FieldError, Handler, Problem, ProblemType
from portal_shared.ratelimit import too_many_attempts

# Refusals whose answer is their problem type alone.
_PLAIN: dict[type[errors.AuthError], ProblemType] = {
    errors.ChallengeRequired: CHALLENGE_REQUIRED,
    errors.LinkInvalid: TOKEN_INVALID,
    errors.ActivationLinkExpired: TOKEN_EXPIRED,
    errors.ResetLinkExpired: RESET_TOKEN_EXPIRED,
    errors.EmailChangeLinkExpired: EMAIL_CHANGE_TOKEN_EXPIRED,
    errors.AlreadyActivated: ALREADY_ACTIVATED,
    errors.EmailTaken: EMAIL_TAKEN,
    errors.RefreshTokenInvalid: REFRESH_TOKEN_INVALID,
    errors.AccountNotActivated: ACCOUNT_NOT_ACTIVATED,
    errors.SessionNotFound: SESSION_NOT_FOUND,
}


def problem_for(error: errors.AuthError) -> Problem:
    match error:
        case errors.TooManyAttempts(retry_after=wait):
            return too_many_attempts(wait)
        case errors.InvalidCredentials():
            return Problem(INVALID_CREDENTIALS, extra=_hint(error))
        case errors.CustomerMismatch():
            return Problem(CUSTOMER_MISMATCH, extra=_hint(error))
        case errors.CurrentPasswordInvalid(field=None):
            return Problem(CURRENT_PASSWORD_INVALID)
        case errors.CurrentPasswordInvalid(field=str(field)):
            return Problem(CURRENT_PASSWORD_INVALID, [FieldError(field, "invalid")])
        case errors.TermsNotAccepted(missing=missing):
            return Problem(TERMS_NOT_ACCEPTED, [FieldError(name, "required") for name in missing])
        case errors.PasswordPolicyViolated(rules=rules):
            return Problem(PASSWORD_POLICY, [FieldError("password", rule) for rule in rules])
        case errors.EmailUnchanged():
            return Problem(EMAIL_UNCHANGED, [FieldError("new_email", "email_unchanged")])
        case errors.NotAuthenticated():
            return Problem(UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return Problem(_PLAIN[type(error)])


def _hint(error: errors.WrongGuess) -> dict[str, bool]:
    # Told with a failure, so a page can prepare a challenge at once.
    return {"challenge_required": True} if error.challenge_required else {}


@web.middleware
async def answer_refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Innermost middleware: a use case's refusal becomes the Problem that the shared
    problem middleware renders (language, problem+json)."""
    try:
        return await handler(request)
    except errors.AuthError as error:
        raise problem_for(error) from None
