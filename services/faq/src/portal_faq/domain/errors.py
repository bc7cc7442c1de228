"""What can go wrong in a use case, said in the FAQ's terms. The HTTP edge
(`problems.problem_for`) turns each into its problem+json answer."""

from __future__ import annotations


class FaqError(Exception):
    """Base of the FAQ's domain errors."""


class EntryNotFound(FaqError):
    pass


class CategoryNotFound(FaqError):
    pass


class UnknownCategory(FaqError):
    """An entry names a category that does not exist (a field error of the body)."""


class PreconditionRequired(FaqError):
    """A change without If-Match: it could overwrite an edit the editor has not seen."""


class PreconditionFailed(FaqError):
    """If-Match names a version that is no longer the stored one."""


class SlugTaken(FaqError):
    pass


class PositionTaken(FaqError):
    pass


class CategoryNotEmpty(FaqError):
    pass


class NotAuthenticated(FaqError):
    """No bearer token (`invalid_token` False), or one that is not (or no longer) valid."""

    def __init__(self, invalid_token: bool) -> None:
        super().__init__("invalid token" if invalid_token else "no token")
        self.invalid_token = invalid_token


class NotAnEditor(FaqError):
    """Authenticated, but without the editor role."""


class AuthUnavailable(FaqError):
    """The auth service's keys or session check cannot be reached: try again later."""


class TooManyRequests(FaqError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after
