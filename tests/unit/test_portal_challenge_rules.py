"""The portal's pure rules for the check after failed attempts and the device cookie."""

from __future__ import annotations

from portal_web.domain import forms
from portal_web.domain.safety import cookie_name, device_cookie_name


def test_the_device_cookie_is_a_second_cookie_with_the_host_prefix_over_https() -> None:
    assert device_cookie_name(True) == "__Host-portal_device"
    assert device_cookie_name(False) == "portal_device"
    assert device_cookie_name(True) != cookie_name(True)


def test_a_solution_and_the_device_token_go_to_auth_when_they_fit() -> None:
    assert forms.challenge_fields({"altcha": " abc= "}, "dev.1.mac") == {"altcha": "abc=", "device_token": "dev.1.mac"}
    assert forms.challenge_fields({"altcha": ""}, None) == {}
    assert forms.challenge_fields({"altcha": "A" * 1001}) == {}


def test_a_solution_is_never_shown_again_but_the_check_stays_on_the_page() -> None:
    posted = {"email": "max@example.de", "altcha": "abc=", "challenge": "1", "password": "x", "csrf_token": "t"}
    assert forms.values_to_keep(posted) == {"email": "max@example.de", "challenge": "1"}
    assert forms.had_challenge(posted)
    assert not forms.had_challenge({"challenge": "yes"})


def test_a_required_check_is_reported_at_the_password() -> None:
    assert forms.from_problem("challenge_required", [], forms.LOGIN) == [forms.FieldError("password", "challenge_required")]
