"""The portal's pure rules (`portal_web.domain`): forms and their errors, safe redirect
targets, the case number, the session's lifetime — and that every text a template asks
for exists in German and English."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from portal_web.domain import caching, forms, safety
from portal_web.domain import session as rules
from portal_web.domain.forms import FieldError

PORTAL = Path(__file__).resolve().parents[2] / "services" / "portal" / "src" / "portal_web"
TEMPLATES = PORTAL / "templates"
TEXTS = PORTAL / "texts.toml"

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIFETIME = rules.Lifetime(idle=timedelta(minutes=30), absolute=timedelta(hours=12))

# --- forms: required fields, lengths, addresses -------------------------------------


def test_every_empty_or_blank_field_is_required_in_form_order() -> None:
    errors = forms.missing({"email": "   ", "password": ""}, forms.LOGIN)
    assert errors == [FieldError("email", "required"), FieldError("password", "required")]


def test_a_field_that_is_not_posted_at_all_is_required() -> None:
    assert forms.missing({}, ("last_name",)) == [FieldError("last_name", "required")]


def test_a_complete_form_has_no_errors() -> None:
    posted = {"customer_number": "10001", "email": "max@example.de"}
    assert forms.missing(posted, forms.FORGOT) == []


def test_a_value_longer_than_the_api_takes_is_too_long() -> None:
    posted = {"last_name": "x" * 201, "customer_number": "1" * 64}
    assert forms.missing(posted, ("last_name", "customer_number")) == [FieldError("last_name", "too_long")]


def test_fields_without_a_named_limit_are_capped_at_1024_characters() -> None:
    assert forms.missing({"password": "p" * 1024}, ("password",)) == []
    assert forms.missing({"password": "p" * 1025}, ("password",)) == [FieldError("password", "too_long")]


@pytest.mark.parametrize("address", ["max", "max@", "@example.de", "max@localhost", "max mustermann@example.de"])
def test_an_address_without_the_shape_of_one_is_invalid(address: str) -> None:
    assert forms.missing({"email": address}, ("email",)) == [FieldError("email", "invalid_email")]


@pytest.mark.parametrize("address", ["max@example.de", "  max@example.de  ", "a@b@example.de"])
def test_only_the_shape_of_an_address_is_checked(address: str) -> None:
    assert forms.missing({"email": address}, ("email",)) == []


def test_an_optional_field_may_stay_empty() -> None:
    posted = {"name": "Max", "email": "max@example.de", "subject": "Frage", "message": "Hallo"}
    assert forms.missing(posted, forms.CONTACT, optional=("customer_number",)) == []


def test_an_optional_field_that_is_filled_in_must_still_fit() -> None:
    posted = {"name": "Max", "email": "max@example.de", "subject": "Frage", "message": "Hallo",
              "customer_number": "1" * 65}
    errors = forms.missing(posted, forms.CONTACT, optional=("customer_number",))
    assert errors == [FieldError("customer_number", "too_long")]


def test_a_repeated_password_that_differs_is_a_mismatch_at_the_repeat() -> None:
    posted = {"password": "Sonne!Wind7Meer", "password_confirm": "Sonne!Wind7Mee"}
    assert forms.confirmation(posted, "password", "password_confirm") == [FieldError("password_confirm", "mismatch")]


def test_a_matching_or_missing_repeat_is_no_mismatch() -> None:
    same = {"password": "Sonne!Wind7Meer", "password_confirm": "Sonne!Wind7Meer"}
    assert forms.confirmation(same, "password", "password_confirm") == []
    # An empty repeat is `missing`'s to report ("required"), not a mismatch.
    assert forms.confirmation({"password": "Sonne!Wind7Meer"}, "password", "password_confirm") == []


# --- forms: API problems at the fields ------------------------------------------------


def test_the_fields_an_api_names_get_their_codes_in_form_order() -> None:
    errors = forms.from_problem(
        "validation_error", [("email", "invalid_email"), ("last_name", "required")], forms.REGISTER
    )
    assert errors == [FieldError("last_name", "required"), FieldError("email", "invalid_email")]


def test_a_field_the_api_names_twice_is_reported_once() -> None:
    errors = forms.from_problem("validation_error", [("email", "a"), ("email", "b")], forms.LOGIN)
    assert errors == [FieldError("email", "a")]


def test_fields_the_form_does_not_have_are_ignored() -> None:
    errors = forms.from_problem("validation_error", [("locale", "invalid"), ("email", "x")], forms.LOGIN)
    assert errors == [FieldError("email", "x")]


def test_a_password_policy_answer_marks_the_password_with_the_problem_code() -> None:
    errors = forms.from_problem("password_policy", [("password", "min_length"), ("password", "digit")],
                                forms.REGISTER)
    assert errors == [FieldError("password", "password_policy")]


def test_a_recent_password_gets_its_own_text_not_the_rule_list() -> None:
    # The list on the page has no rule a reused password breaks: "see the list below"
    # would point at eight ticked rules.
    assert forms.from_problem("password_policy", [("password", "not_reused")], forms.RESET) == [
        FieldError("password", "not_reused")
    ]
    texts = tomllib.loads(TEXTS.read_text(encoding="utf-8"))
    assert "verwendet" in texts["errors"]["not_reused"]["de"]
    assert "used this password" in texts["errors"]["not_reused"]["en"]


def test_a_known_code_without_fields_lands_at_the_fields_it_concerns() -> None:
    errors = forms.from_problem("customer_mismatch", [], forms.REGISTER)
    # Auth does not tell which of them is wrong; the code field's text says "if you have one".
    assert errors == [
        FieldError("last_name", "customer_mismatch"), FieldError("customer_number", "customer_mismatch"),
        FieldError("registration_code", "customer_mismatch"),
    ]
    assert forms.from_problem("invalid_credentials", [], forms.LOGIN) == [FieldError("email", "invalid_credentials")]


def test_an_unknown_code_without_fields_lands_at_the_first_field() -> None:
    assert forms.from_problem("something_new", [], forms.FORGOT) == [FieldError("customer_number", "something_new")]
    assert forms.from_problem("", [], forms.FORGOT) == [FieldError("customer_number", "invalid")]


def test_a_form_without_fields_gets_no_errors_from_a_problem() -> None:
    assert forms.from_problem("something_new", [("email", "x")], ()) == []


def test_broken_rules_are_the_codes_at_password_fields() -> None:
    errors = [("password", "min_length"), ("email", "invalid_email"), ("new_password", "reused")]
    assert forms.broken_rules(errors) == ["min_length", "reused"]
    assert forms.broken_rules([]) == []


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(None, 1), (0, 1), (1, 1), (59, 1), (60, 1), (61, 2), (119, 2), (120, 2), (121, 3), (3600, 60), (-5, 1)],
)
def test_a_waiting_time_is_whole_minutes_rounded_up_and_at_least_one(seconds: int | None, minutes: int) -> None:
    assert forms.wait_minutes(seconds) == minutes


def test_the_registration_code_is_optional_but_bounded() -> None:
    filled = {"last_name": "Mustermann", "customer_number": "10001", "email": "max@example.de",
              "password": "Sonne!Wind7Meer"}
    typed = [name for name in forms.REGISTER if name not in forms.REGISTER_CONSENT]
    assert forms.missing(filled, typed, optional=forms.REGISTER_OPTIONAL) == []
    assert forms.missing(filled | {"registration_code": "X" * 101}, typed, optional=forms.REGISTER_OPTIONAL) == [
        FieldError("registration_code", "too_long")
    ]


def test_values_shown_again_never_include_passwords_or_the_csrf_token() -> None:
    posted = {
        "email": "max@example.de",
        "last_name": "Mustermann",
        "password": "Sonne!Wind7Meer",
        "password_confirm": "Sonne!Wind7Meer",
        "current_password": "Alt!Passwort1",
        "new_password": "Neu!Passwort2",
        "new_password_confirm": "Neu!Passwort2",
        "csrf_token": "secret-form-token",
    }
    kept = forms.values_to_keep(posted)
    assert kept == {"email": "max@example.de", "last_name": "Mustermann"}
    shown = " ".join(kept.values())
    for secret in ("Sonne!Wind7Meer", "Alt!Passwort1", "Neu!Passwort2", "secret-form-token"):
        assert secret not in shown


def test_every_password_field_of_every_form_is_in_the_never_kept_list() -> None:
    for fields in (forms.REGISTER, forms.LOGIN, forms.RESET, forms.CHANGE_PASSWORD, forms.DELETE_ACCOUNT):
        for name in fields:
            if "password" in name:
                assert name in forms.PASSWORD_FIELDS, name
                assert name not in forms.values_to_keep({name: "geheim"})


# --- safety: redirect targets ---------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/konto",
        "https://evil",
        "https://evil.example/konto",
        "http:/evil",
        "javascript:alert(1)",
        "/\\evil",
        "\\\\evil",
        "/\\/evil.example",
        "/konto\\..\\evil",
        "/\t/evil.example",
        "/\n/evil.example",
        "/konto\r\nSet-Cookie: x=1",
        "/konto\x00",
        "\x01/konto",
        " //evil.example",
        "konto",
        "evil.example",
        "",
        None,
    ],
)
def test_a_target_that_could_leave_the_site_is_replaced_by_the_default(target: str | None) -> None:
    assert safety.local_path(target) == "/konto"
    assert safety.local_path(target, default="/") == "/"


@pytest.mark.parametrize("target", ["/konto?x=1", "/", "/faq/passwort-vergessen", "/faq/suche?q=a%2Fb#top"])
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert safety.local_path(target) == target


def test_the_login_redirect_carries_the_page_to_return_to() -> None:
    assert safety.login_redirect("/konto", expired=False) == "/login?next=/konto"
    assert safety.login_redirect("/konto/loeschen", expired=True) == "/login?next=/konto/loeschen&abgelaufen=1"


def test_the_login_redirect_encodes_the_query_of_the_page() -> None:
    location = safety.login_redirect("/faq/suche?q=a b&lang=en", expired=False)
    assert location == "/login?next=/faq/suche%3Fq%3Da%20b%26lang%3Den"


def test_the_login_redirect_never_leads_elsewhere() -> None:
    assert safety.login_redirect("//evil.example", expired=False) == "/login?next=/konto"
    assert safety.login_redirect("/\\evil", expired=True) == "/login?next=/konto&abgelaufen=1"


def test_the_case_number_is_the_start_of_the_contact_id_in_capitals() -> None:
    contact_id = "3f2b8c1a-9d4e-4f7a-8b6c-0123456789ab"
    assert safety.case_number(contact_id) == "3F2B8C1A"
    assert safety.case_number(str(UUID(contact_id)).upper()) == "3F2B8C1A"


@pytest.mark.parametrize("contact_id", ["", "not-a-uuid", "3f2b8c1a", "None"])
def test_no_case_number_without_a_contact_id(contact_id: str) -> None:
    assert safety.case_number(contact_id) == ""


def test_the_cookie_has_the_host_prefix_only_over_https() -> None:
    assert safety.cookie_name(secure=True) == "__Host-portal_session"
    assert safety.cookie_name(secure=False) == "portal_session"


# --- session lifetime -----------------------------------------------------------------


def test_a_new_session_has_new_random_ids_and_its_absolute_end() -> None:
    first = rules.start(NOW, LIFETIME, "en")
    second = rules.start(NOW, LIFETIME)
    assert first.id != second.id and first.csrf_token != second.csrf_token
    assert first.id != first.csrf_token
    assert len(first.id) >= 40 and len(first.csrf_token) >= 40
    assert (first.created_at, first.last_seen_at, first.expires_at) == (NOW, NOW, NOW + timedelta(hours=12))
    assert (first.language, second.language) == ("en", None)
    assert not first.logged_in and first.tokens is None and first.flash is None


def test_a_session_ends_after_the_idle_time_without_requests() -> None:
    session = rules.start(NOW, LIFETIME)
    assert not rules.has_ended(session, NOW + timedelta(minutes=29, seconds=59), LIFETIME)
    assert rules.has_ended(session, NOW + timedelta(minutes=30), LIFETIME)


def test_activity_keeps_a_session_alive_until_its_absolute_end() -> None:
    session = rules.start(NOW, LIFETIME)
    just_seen = NOW + timedelta(hours=11, minutes=59)
    active = replace(session, last_seen_at=just_seen)
    assert not rules.has_ended(active, just_seen + timedelta(seconds=59), LIFETIME)
    assert rules.has_ended(active, NOW + timedelta(hours=12), LIFETIME)
    assert rules.has_ended(active, NOW + timedelta(hours=12, seconds=1), LIFETIME)


def test_last_seen_is_written_at_most_once_a_minute() -> None:
    session = rules.start(NOW, LIFETIME)
    assert not rules.needs_touch(session, NOW)
    assert not rules.needs_touch(session, NOW + timedelta(seconds=59))
    assert rules.needs_touch(session, NOW + timedelta(seconds=60))


def test_the_access_token_is_refreshed_shortly_before_it_expires() -> None:
    tokens = rules.Tokens("access", "refresh", access_expires_at=NOW + timedelta(minutes=15))
    assert not rules.needs_refresh(tokens, NOW)
    assert not rules.needs_refresh(tokens, NOW + timedelta(minutes=14, seconds=29))
    assert rules.needs_refresh(tokens, NOW + timedelta(minutes=14, seconds=30))
    assert rules.needs_refresh(tokens, NOW + timedelta(minutes=16))


def test_the_stored_id_is_a_hash_of_the_cookie_value() -> None:
    session = rules.start(NOW, LIFETIME)
    digest = rules.id_hash(session.id)
    assert len(digest) == 32 and session.id.encode() not in digest
    assert digest == rules.id_hash(session.id) and digest != rules.id_hash(session.id + "x")


# --- texts ----------------------------------------------------------------------------

# `t("key")` or `t('key', …)` with a literal key; `t("errors.page." ~ reason …)` builds
# its key and is checked below with the values the code passes.
_LITERAL_KEY = re.compile(r"""\bt\(\s*(["'])([^"'\s]+)\1\s*[,)]""")


def _flat_texts() -> dict[str, Mapping[str, Any]]:
    raw = tomllib.loads(TEXTS.read_text(encoding="utf-8"))
    flat: dict[str, Mapping[str, Any]] = {}

    def walk(prefix: str, node: Mapping[str, Any]) -> None:
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, Mapping) and ("de" in value or "en" in value):
                flat[name] = value
            elif isinstance(value, Mapping):
                walk(name, value)

    walk("", raw)
    return flat


def _template_keys() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for template in sorted(TEMPLATES.glob("*.html")):
        for match in _LITERAL_KEY.finditer(template.read_text(encoding="utf-8")):
            used.setdefault(match.group(2), set()).add(template.name)
    return used


def _missing(keys: set[str]) -> list[str]:
    texts = _flat_texts()
    return sorted(
        key for key in keys
        if not isinstance(texts.get(key, {}).get("de"), str) or not texts[key]["de"].strip()
        or not isinstance(texts[key].get("en"), str) or not texts[key]["en"].strip()
    )


def test_templates_ask_for_texts_at_all() -> None:
    used = _template_keys()
    assert len(used) > 100
    assert "common.portal_name" in used and "nav.login" in used


def test_every_text_a_template_names_exists_in_german_and_english() -> None:
    used = _template_keys()
    missing = _missing(set(used))
    assert missing == [], {key: sorted(used[key]) for key in missing}


def test_every_text_built_from_a_page_outcome_exists_in_german_and_english() -> None:
    built = set()
    for reason in ("csrf", "cookies_disabled", "not_found", "too_large", "unavailable", "internal"):
        built |= {f"errors.page.{reason}.title", f"errors.page.{reason}.text"}
    for outcome in ("activated", "expired", "busy", "invalid"):
        built.add(f"activate.{outcome}_title")
    for outcome in ("changed", "expired", "busy", "invalid"):
        built.add(f"reset.{outcome}_title")
    built |= {"login.notice_logged_out", "login.notice_session_expired", "account.notice_password_changed"}
    built |= {"faq.search_problem_too_long", "faq.search_problem_busy"}
    built |= {f"legal.{kind}.title" for kind in ("imprint", "privacy", "terms")}
    assert _missing(built) == []


def test_the_literal_key_pattern_finds_keys_and_skips_built_ones() -> None:
    sample = """{{ t("a.b") }} {{ t('c.d', minutes=wait) }} {{ t("e." ~ x ~ ".f") }} {{ error_text("g", "h") }}"""
    assert [m.group(2) for m in _LITERAL_KEY.finditer(sample)] == ["a.b", "c.d"]


# --- caching ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("public, max-age=60, stale-while-revalidate=300", 60),
        ("public, max-age=3600", 3600),
        ("Public, Max-Age=30", 30),
        ("public, max-age=999999", 3600),  # capped
        ("max-age=60", 0),  # not marked public
        ("private, max-age=60", 0),
        ("public, no-store, max-age=60", 0),
        ("public, no-cache, max-age=60", 0),
        ("public, max-age=abc", 0),
        ("public", 0),
        ("no-store", 0),
        (None, 0),
        ("", 0),
    ],
)
def test_only_public_answers_are_kept_and_never_longer_than_an_hour(header: str | None, seconds: int) -> None:
    assert caching.public_max_age(header) == seconds


def test_ended_sessions_are_kept_a_little_before_the_clean_up_deletes_them() -> None:
    from datetime import UTC, datetime, timedelta

    from portal_web.domain.session import PURGE_GRACE, Lifetime, purge_cutoffs

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    lifetime = Lifetime(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    expired_before, idle_before = purge_cutoffs(now, lifetime)
    assert expired_before == now - PURGE_GRACE < now
    assert idle_before == now - timedelta(minutes=30) - PURGE_GRACE
    assert PURGE_GRACE >= timedelta(minutes=5)
