"""What a login attempt leads to, once the password has been checked."""

from __future__ import annotations

import enum

from portal_auth.domain.accounts import Account
from portal_auth.domain.throttling import ChallengePolicy, threshold_reached_now


class LoginOutcome(enum.Enum):
    LOGGED_IN = "logged_in"  # a session opens
    # The right password of an account not activated yet: answered like a wrong one, and
    # the mailbox gets a fresh activation link (only it learns that the account exists).
    PENDING = "pending"
    FAILED = "failed"  # a wrong password or an unknown address


def login_outcome(password_verified: bool, account: Account | None) -> LoginOutcome:
    if not password_verified or account is None:
        return LoginOutcome.FAILED
    return LoginOutcome.LOGGED_IN if account.is_active else LoginOutcome.PENDING


def tell_owner_of_attack(
    account: Account | None, known_device: bool, failures: int, policy: ChallengePolicy
) -> bool:
    """Whether this failure is the one that makes challenges necessary for an active
    account (from an unknown browser): the moment its owner hears of it."""
    return (
        account is not None and account.is_active and not known_device
        and threshold_reached_now(policy, failures)
    )
