"""Auth's decisions without a database: the login outcome, refresh-token rotation, locks,
whether an activation goes ahead — and the HTTP answer each refusal of a use case gets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from portal_auth.domain import errors, ownership
from portal_auth.domain.accounts import Account, AccountStatus, Customer
from portal_auth.domain.limits import ACCOUNT_CHALLENGES
from portal_auth.domain.login import LoginOutcome, login_outcome, tell_owner_of_attack
from portal_auth.domain.session_lifetime import RefreshOutcome, RefreshToken, refresh_outcome
from portal_auth.domain.throttling import lock_wait
from portal_auth.http_errors import problem_for
from portal_auth.problems import (
    CUSTOMER_MISMATCH,
    EMAIL_CHANGE_TOKEN_EXPIRED,
    INVALID_CREDENTIALS,
    RESET_TOKEN_EXPIRED,
    SESSION_NOT_FOUND,
    TOKEN_EXPIRED,
    TOKEN_INVALID,
)
from portal_shared.problems import UNAUTHORIZED, FieldError
from portal_shared.ratelimit import TOO_MANY_ATTEMPTS

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MAX_AGE = timedelta(days=90)


def account(status: AccountStatus = AccountStatus.ACTIVE, **changes: object) -> Account:
    made = Account(
        id=uuid4(), status=status, customer_number="10001", email="max@example.de",
        email_key="max@example.de", locale="de", last_name="Muster", password_hash="$argon2id$…",
        created_at=NOW - timedelta(days=3), activated_at=None, registered_with_code=False,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


# --- the login outcome ---------------------------------------------------------------


def test_the_right_password_of_an_active_account_logs_in() -> None:
    assert login_outcome(True, account()) is LoginOutcome.LOGGED_IN


def test_the_right_password_of_a_pending_account_is_answered_as_a_failure_and_reminds() -> None:
    assert login_outcome(True, account(AccountStatus.PENDING)) is LoginOutcome.PENDING


@pytest.mark.parametrize("found", [account(), account(AccountStatus.PENDING), None])
def test_a_wrong_password_or_an_unknown_address_fails(found: Account | None) -> None:
    assert login_outcome(False, found) is LoginOutcome.FAILED


def test_the_owner_hears_of_an_attack_once_challenges_become_necessary() -> None:
    threshold = ACCOUNT_CHALLENGES.free_failures
    assert tell_owner_of_attack(account(), False, threshold, ACCOUNT_CHALLENGES)
    assert not tell_owner_of_attack(account(), False, threshold - 1, ACCOUNT_CHALLENGES)
    assert not tell_owner_of_attack(account(), False, threshold + 1, ACCOUNT_CHALLENGES)


def test_no_attack_notice_for_a_known_device_a_pending_account_or_no_account() -> None:
    threshold = ACCOUNT_CHALLENGES.free_failures
    assert not tell_owner_of_attack(account(), True, threshold, ACCOUNT_CHALLENGES)
    assert not tell_owner_of_attack(account(AccountStatus.PENDING), False, threshold, ACCOUNT_CHALLENGES)
    assert not tell_owner_of_attack(None, False, threshold, ACCOUNT_CHALLENGES)


# --- refresh-token rotation ----------------------------------------------------------


def stored_token(**changes: object) -> RefreshToken:
    made = RefreshToken(
        session_id=uuid4(), account_id=uuid4(), expires_at=NOW + timedelta(days=1), used_at=None,
        ended_at=None, logged_in_at=NOW - timedelta(days=1),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def test_a_live_unused_refresh_token_rotates() -> None:
    assert refresh_outcome(stored_token(), NOW, MAX_AGE) is RefreshOutcome.ROTATE


def test_a_spent_refresh_token_presented_again_is_a_reuse() -> None:
    assert refresh_outcome(stored_token(used_at=NOW - timedelta(hours=1)), NOW, MAX_AGE) is RefreshOutcome.REUSED


@pytest.mark.parametrize(
    "token",
    [
        None,
        stored_token(expires_at=NOW),
        stored_token(ended_at=NOW - timedelta(minutes=1)),
        stored_token(logged_in_at=NOW - MAX_AGE),
        # Expired beats reused: a stale copy ends nothing.
        stored_token(expires_at=NOW - timedelta(seconds=1), used_at=NOW - timedelta(days=2)),
    ],
)
def test_an_unknown_expired_or_ended_refresh_token_is_invalid(token: RefreshToken | None) -> None:
    assert refresh_outcome(token, NOW, MAX_AGE) is RefreshOutcome.INVALID


# --- locks -----------------------------------------------------------------------------


def test_the_wait_is_until_the_last_lock_that_still_holds() -> None:
    locks = [NOW + timedelta(seconds=30), None, NOW + timedelta(seconds=90.2), NOW - timedelta(hours=1)]
    assert lock_wait(locks, NOW) == 91


def test_no_wait_when_no_lock_holds() -> None:
    assert lock_wait([None, NOW, NOW - timedelta(seconds=1)], NOW) is None
    assert lock_wait([], NOW) is None


# --- activation --------------------------------------------------------------------------


def customer(email_key: str | None = None, code_hash: str | None = None) -> Customer:
    return Customer("10001", "Muster", email_key, email_key, code_hash)


def test_an_activation_goes_ahead_when_it_proves_what_is_on_file_and_nobody_holds_the_number() -> None:
    candidate = account(AccountStatus.PENDING)
    assert ownership.activation_goes_ahead(customer(), candidate, [account(AccountStatus.PENDING)])
    assert ownership.activation_goes_ahead(customer("max@example.de"), candidate, [])


def test_an_activation_is_refused_once_another_account_of_the_number_is_active() -> None:
    assert not ownership.activation_goes_ahead(customer(), account(AccountStatus.PENDING), [account()])


def test_an_activation_is_refused_when_an_address_or_code_was_put_on_file_meanwhile() -> None:
    candidate = account(AccountStatus.PENDING)
    assert not ownership.activation_goes_ahead(customer("other@example.de"), candidate, [])
    assert not ownership.activation_goes_ahead(customer(code_hash="$argon2id$…"), candidate, [])
    assert ownership.activation_goes_ahead(
        customer(code_hash="$argon2id$…"), replace(candidate, registered_with_code=True), []
    )
    assert not ownership.activation_goes_ahead(None, candidate, [])


def test_registration_decisions_take_accounts_as_they_come_from_the_repository() -> None:
    owner = account()
    decision = ownership.decide("10001", None, "new@example.de", [owner])
    assert decision.notify == (owner.id,) and not decision.create


# --- the HTTP answer of each refusal -------------------------------------------------------


def test_too_many_attempts_is_a_429_with_retry_after() -> None:
    problem = problem_for(errors.TooManyAttempts(17))
    assert problem.kind is TOO_MANY_ATTEMPTS and problem.headers == {"Retry-After": "17"}


@pytest.mark.parametrize(
    ("error", "kind"),
    [(errors.InvalidCredentials, INVALID_CREDENTIALS), (errors.CustomerMismatch, CUSTOMER_MISMATCH)],
)
def test_a_wrong_guess_tells_whether_the_next_needs_a_challenge(error: type[errors.WrongGuess], kind: object) -> None:
    assert problem_for(error(challenge_required=True)).extra == {"challenge_required": True}
    free = problem_for(error())
    assert free.kind is kind and free.extra == {} and free.errors == []


def test_refusals_with_field_errors_name_the_fields() -> None:
    assert problem_for(errors.TermsNotAccepted(["accept_privacy"])).errors == [
        FieldError("accept_privacy", "required")
    ]
    assert problem_for(errors.PasswordPolicyViolated(["min_length", "not_reused"])).errors == [
        FieldError("password", "min_length"), FieldError("password", "not_reused")
    ]
    assert problem_for(errors.CurrentPasswordInvalid("password")).errors == [FieldError("password", "invalid")]
    assert problem_for(errors.CurrentPasswordInvalid()).errors == []
    assert problem_for(errors.EmailUnchanged()).errors == [FieldError("new_email", "email_unchanged")]


def test_not_authenticated_asks_for_a_bearer_token() -> None:
    problem = problem_for(errors.NotAuthenticated())
    assert problem.kind is UNAUTHORIZED and problem.headers == {"WWW-Authenticate": "Bearer"}


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (errors.LinkInvalid(), TOKEN_INVALID),
        (errors.ActivationLinkExpired(), TOKEN_EXPIRED),
        (errors.ResetLinkExpired(), RESET_TOKEN_EXPIRED),
        (errors.EmailChangeLinkExpired(), EMAIL_CHANGE_TOKEN_EXPIRED),
        (errors.SessionNotFound(), SESSION_NOT_FOUND),
    ],
)
def test_each_link_refusal_has_its_own_text(error: errors.AuthError, kind: object) -> None:
    assert problem_for(error).kind is kind


def test_every_refusal_has_an_answer() -> None:
    def leaves(cls: type[errors.AuthError]) -> list[type[errors.AuthError]]:
        subs = cls.__subclasses__()
        return [cls] if not subs else [leaf for sub in subs for leaf in leaves(sub)]

    samples = {errors.TooManyAttempts: (1,), errors.TermsNotAccepted: ([],), errors.PasswordPolicyViolated: ([],)}
    for leaf in leaves(errors.AuthError):
        assert problem_for(leaf(*samples.get(leaf, ()))).kind.status >= 400
