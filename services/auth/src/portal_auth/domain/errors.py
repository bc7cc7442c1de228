"""Why a use case refuses: raised by the use cases, answered at the HTTP edge.

The use cases know nothing of HTTP. `portal_auth.http_errors` turns each of these into
its problem+json answer (status, type, German/English text, extension members, headers);
the catalogue of those answers is `portal_auth.problems`.
"""

from __future__ import annotations

from collections.abc import Sequence


class AuthError(Exception):
    """A request the rules refuse."""


# --- limits and guessing -------------------------------------------------------------


class TooManyAttempts(AuthError):
    """A used-up rate limit or a lock (IP, password confirmations)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after  # whole seconds


class ChallengeRequired(AuthError):
    """Past the free failures, an attempt came without a solved challenge."""


class WrongGuess(AuthError):
    """A guess at a secret that missed; `challenge_required` tells whether the next
    attempt must carry a solved challenge (the same for known and unknown targets)."""

    def __init__(self, challenge_required: bool = False) -> None:
        super().__init__(challenge_required)
        self.challenge_required = challenge_required


class InvalidCredentials(WrongGuess):
    """Wrong password, unknown address, or a pending account: one answer for all."""


class CustomerMismatch(WrongGuess):
    """Customer number, last name and (where on file) the letter's code do not match."""


class CurrentPasswordInvalid(AuthError):
    """The password re-entered before a sensitive change is wrong; `field` names the
    input it came in (None: the account is gone)."""

    def __init__(self, field: str | None = None) -> None:
        super().__init__(field)
        self.field = field


# --- input the rules refuse ------------------------------------------------------------


class TermsNotAccepted(AuthError):
    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(*missing)
        self.missing = tuple(missing)  # the consent fields not given


class PasswordPolicyViolated(AuthError):
    def __init__(self, rules: Sequence[str]) -> None:
        super().__init__(*rules)
        self.rules = tuple(rules)  # ids of the broken rules (`domain.password_policy`)


class EmailUnchanged(AuthError):
    """The new address is the account's address already."""


# --- mailed links ----------------------------------------------------------------------


class LinkInvalid(AuthError):
    """Unknown, malformed, used, or of an account that is gone."""


class ActivationLinkExpired(AuthError):
    pass


class ResetLinkExpired(AuthError):
    pass


class EmailChangeLinkExpired(AuthError):
    pass


class AlreadyActivated(AuthError):
    """A used activation link of an account that is active."""


class EmailTaken(AuthError):
    """The confirmed address belongs to another active account by now."""


# --- sessions --------------------------------------------------------------------------


class NotAuthenticated(AuthError):
    """No valid access token, or its session has ended."""


class RefreshTokenInvalid(AuthError):
    pass


class AccountNotActivated(AuthError):
    pass


class SessionNotFound(AuthError):
    """Not one of the caller's open sessions."""
