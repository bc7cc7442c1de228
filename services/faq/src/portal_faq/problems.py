"""The FAQ service's error codes, with German and English text, and the answer each
domain error gets at the HTTP edge."""

from __future__ import annotations

from portal_faq.domain import errors
from portal_shared.problems import (
    SERVICE_UNAVAILABLE,
    UNAUTHORIZED,
    VALIDATION_ERROR,
    FieldError,
    Problem,
    ProblemType,
)
from portal_shared.ratelimit import too_many_attempts

FAQ_ENTRY_NOT_FOUND = ProblemType(
    "faq_entry_not_found", 404, "FAQ entry not found",
    "Der angeforderte FAQ-Eintrag wurde nicht gefunden.",
    "The requested FAQ entry was not found.",
    title_de="FAQ-Eintrag nicht gefunden",
)
FAQ_CATEGORY_NOT_FOUND = ProblemType(
    "faq_category_not_found", 404, "FAQ category not found",
    "Die angeforderte FAQ-Kategorie wurde nicht gefunden.",
    "The requested FAQ category was not found.",
    title_de="FAQ-Kategorie nicht gefunden",
)
FORBIDDEN = ProblemType(
    "forbidden", 403, "Forbidden",
    "Sie haben keine Berechtigung, die FAQ zu bearbeiten.",
    "You are not allowed to edit the FAQ.",
    title_de="Keine Berechtigung",
)
PRECONDITION_REQUIRED = ProblemType(
    "precondition_required", 428, "Precondition required",
    "Bitte senden Sie den ETag der gelesenen Fassung im Header If-Match mit.",
    "Please send the ETag of the version you read in the If-Match header.",
    title_de="Vorbedingung erforderlich",
)
PRECONDITION_FAILED = ProblemType(
    "precondition_failed", 412, "Precondition failed",
    "Der Inhalt wurde inzwischen geändert. Bitte laden Sie ihn neu und wiederholen Sie "
    "Ihre Änderung.",
    "The content has been changed in the meantime. Please reload it and repeat your change.",
    title_de="Vorbedingung nicht erfüllt",
)
SLUG_TAKEN = ProblemType(
    "slug_taken", 409, "Slug taken",
    "Diese Kennung (Slug) wird bereits verwendet.",
    "This slug is already in use.",
    title_de="Kennung bereits vergeben",
)
POSITION_TAKEN = ProblemType(
    "position_taken", 409, "Position taken",
    "An dieser Position steht bereits ein anderer Eintrag.",
    "Another item already has this position.",
    title_de="Position bereits vergeben",
)
CATEGORY_NOT_EMPTY = ProblemType(
    "category_not_empty", 409, "Category not empty",
    "Die Kategorie enthält noch Einträge. Bitte verschieben oder löschen Sie diese zuerst.",
    "The category still has entries. Please move or delete them first.",
    title_de="Kategorie nicht leer",
)

_PROBLEM_TYPES: dict[type[errors.FaqError], ProblemType] = {
    errors.EntryNotFound: FAQ_ENTRY_NOT_FOUND,
    errors.CategoryNotFound: FAQ_CATEGORY_NOT_FOUND,
    errors.PreconditionRequired: PRECONDITION_REQUIRED,
    errors.PreconditionFailed: PRECONDITION_FAILED,
    errors.SlugTaken: SLUG_TAKEN,
    errors.PositionTaken: POSITION_TAKEN,
    errors.CategoryNotEmpty: CATEGORY_NOT_EMPTY,
    errors.NotAnEditor: FORBIDDEN,
}
# How long a client waits before asking again while auth's keys cannot be fetched.
AUTH_RETRY_AFTER_SECONDS = 30


def problem_for(error: errors.FaqError) -> Problem:
    """The problem+json answer to a domain error."""
    if isinstance(error, errors.NotAuthenticated):
        challenge = 'Bearer error="invalid_token"' if error.invalid_token else "Bearer"
        return Problem(UNAUTHORIZED, headers={"WWW-Authenticate": challenge})
    if isinstance(error, errors.AuthUnavailable):
        return Problem(SERVICE_UNAVAILABLE, headers={"Retry-After": str(AUTH_RETRY_AFTER_SECONDS)})
    if isinstance(error, errors.TooManyRequests):
        return too_many_attempts(error.retry_after)
    if isinstance(error, errors.UnknownCategory):
        return Problem(VALIDATION_ERROR, [FieldError("category", "unknown_category")])
    return Problem(_PROBLEM_TYPES[type(error)])
