"""The packaged FAQ says what the customer's FAQ page says, and renders to safe HTML."""

from __future__ import annotations

import re

import pytest

from portal_auth.config import AuthSettings
from portal_auth.domain.password_policy import MIN_LENGTH, RULES
from portal_faq.content import (
    SLUG_PATTERN,
    FaqContent,
    FaqContentError,
    packaged_faq,
    parse_faq,
    render_markdown,
)

FAQ = packaged_faq()
ENTRIES = {entry.slug: entry for entry in FAQ.entries()}
GERMAN = "\n".join(f"{e.question}\n{e.answer}" for e in FAQ.entries())

PASSWORD_RULES_DE = [
    "mindestens 8 Zeichen",
    "mindestens ein Sonderzeichen",
    "mindestens eine Ziffer",
    "Groß- und Kleinbuchstaben",
    "keine numerische und alphabetische Reihenfolge (z.B. ABC, 123)",
]
PASSWORD_TIPS_DE = [
    "nicht an Dritte weiter",
    "regelmäßig",
    "nicht in Wörterbüchern",
    "keinen persönlichen Bezug",
    "mehr als 8 Zeichen",
    "nur einmal",
    "Notieren Sie keine Passwörter",
    "in einen Safe ein",
    "Dann vergeben Sie sofort ein neues",
]
REGISTRATION_STEPS_DE = [
    "„Nachname“", "Firmennamen", "„Kundennummer“", "„E-Mail-Adresse“", "„Passwort“",
    "Nutzungsbedingungen & Datenschutzerklärung akzeptieren", "„jetzt registrieren“",
    "Schritt 2", "innerhalb von 24 Stunden",
]


def entry_mentioning(text: str) -> str:
    slugs = [e.slug for e in FAQ.entries() if text in e.answer or text in e.question]
    assert slugs, f"no FAQ entry mentions {text!r}"
    return slugs[0]


def test_the_packaged_faq_has_categories_in_order_with_entries() -> None:
    assert [c.slug for c in FAQ.categories] == [
        "allgemeines", "registrierung", "anmeldung-und-passwort", "kontakt"
    ]
    assert [c.position for c in FAQ.categories] == [1, 2, 3, 4]
    assert len(ENTRIES) == 12


def test_slugs_are_unique_and_url_safe() -> None:
    slugs = [c.slug for c in FAQ.categories] + [e.slug for e in FAQ.entries()]
    assert len(slugs) == len(set(slugs))
    assert all(re.fullmatch(SLUG_PATTERN, slug) for slug in slugs)


def test_browser_and_where_to_find_the_cookie_setting() -> None:
    assert "aktuellsten Browser" in ENTRIES["browser-und-cookies"].answer
    assert "Cookies von Drittanbietern" in ENTRIES["browser-und-cookies"].answer
    assert "Extras – Einstellungen – Datenschutz – Chronik – Cookies akzeptieren" in (
        ENTRIES["cookie-einstellung"].answer
    )


def test_the_activation_link_is_valid_24_hours_then_register_again_or_copy_it() -> None:
    assert "24 Stunden" in ENTRIES["aktivierungslink"].answer
    assert "Registrierung bitte erneut" in ENTRIES["aktivierungslink-abgelaufen"].answer
    assert "Adressleiste Ihres Browsers" in ENTRIES["aktivierungslink-oeffnet-nicht"].answer


def test_new_login_data_are_explained_by_raised_security_policies() -> None:
    answer = ENTRIES["neue-login-daten"].answer
    assert "Datensicherheitsrichtlinien haben sich erhöht" in answer
    assert "neue\nLogin-Daten" in answer or "neue Login-Daten" in answer


def test_login_is_with_email_and_password() -> None:
    assert "E-Mail-Adresse und Ihrem Passwort" in ENTRIES["einloggen"].answer


@pytest.mark.parametrize("text", REGISTRATION_STEPS_DE)
def test_registration_is_described_step_by_step(text: str) -> None:
    assert text in ENTRIES["registrieren"].answer


def test_forgotten_password_needs_customer_number_and_email_on_file() -> None:
    answer = ENTRIES["passwort-vergessen"].answer
    assert "„Passwort vergessen“" in answer
    assert "Kundennummer und die bei uns hinterlegte E-Mail-Adresse" in answer
    assert "nicht in blauer Farbe" in answer and "kopieren Sie bitte den Link" in answer


@pytest.mark.parametrize("rule", PASSWORD_RULES_DE)
def test_the_five_password_rules_are_stated(rule: str) -> None:
    assert rule in ENTRIES["passwort-anforderungen"].answer


@pytest.mark.parametrize("tip", PASSWORD_TIPS_DE)
def test_every_tip_for_a_safe_password_is_there(tip: str) -> None:
    assert tip in re.sub(r"\s+", " ", ENTRIES["sicheres-passwort"].answer)


def test_unanswered_questions_lead_to_contact() -> None:
    assert ENTRIES["frage-nicht-beantwortet"].question == "Ihre Frage wurde nicht beantwortet?"
    assert "Kontakt" in ENTRIES["frage-nicht-beantwortet"].answer


def test_the_faq_states_the_rules_the_auth_service_enforces() -> None:
    # Drift guard: what customers read must be what registration checks.
    requirements = ENTRIES["passwort-anforderungen"]
    for rule in RULES:
        assert rule.text_de in requirements.answer
        assert rule.text_en in (requirements.answer_en or "")
    assert f"mindestens {MIN_LENGTH} Zeichen" in requirements.answer
    hours = AuthSettings.model_fields["activation_ttl_hours"].default
    assert f"{hours} Stunden" in ENTRIES["aktivierungslink"].answer


def test_every_category_and_entry_has_english() -> None:
    assert all(c.title_en for c in FAQ.categories)
    missing = [e.slug for e in FAQ.entries() if not (e.question_en and e.answer_en)]
    assert missing == []
    assert "24 hours" in (ENTRIES["aktivierungslink"].answer_en or "")


def test_every_answer_renders_to_html() -> None:
    for entry in FAQ.entries():
        assert render_markdown(entry.answer).startswith(("<p>", "<ul>", "<ol>"))
    assert render_markdown(ENTRIES["registrieren"].answer).count("<li>") == 8


def test_raw_html_and_scripts_do_not_survive() -> None:
    html = render_markdown('Hallo <script>alert("x")</script> <img src=x onerror=alert(1)>')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html  # shown as text, not dropped silently


def test_links_get_safe_attributes_and_unsafe_schemes_lose_their_target() -> None:
    html = render_markdown("[Kontakt](https://example.de/kontakt) [x](javascript:alert(1))")
    assert '<a href="https://example.de/kontakt" rel="noopener noreferrer nofollow">' in html
    assert 'href="javascript' not in html
    assert "href" not in render_markdown("[Datei](ftp://example.de/datei)")


def test_markdown_images_are_not_allowed() -> None:
    html = render_markdown("![Zähler](https://tracker.example/pixel.png)")
    assert "<img" not in html and "tracker" not in html


def minimal(entry: str = "", category: str = "") -> str:
    return f"""
[[categories]]
slug = "allgemeines"
position = 1
title = "Allgemeines"
{category}

[[categories.entries]]
slug = "eine-frage"
position = 1
question = "Eine Frage?"
answer = "Eine Antwort."
{entry}
"""


def another_entry(slug: str, position: int) -> str:
    return f"""
[[categories.entries]]
slug = "{slug}"
position = {position}
question = "Noch eine Frage?"
answer = "Noch eine Antwort."
"""


def test_a_minimal_file_parses() -> None:
    content = parse_faq(minimal())
    assert isinstance(content, FaqContent)
    assert content.entries()[0].question_en is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("categories = [", "not valid TOML"),
        ("categories = []", "categories"),
        (minimal().replace('"eine-frage"', '"Eine Frage"'), "slug"),
        (minimal(entry='question_en = "A question?"'), "question_en and answer_en"),
        (minimal(entry='antwort = "Tippfehler"'), "antwort"),
        (minimal() + another_entry("zweite-frage", 1), "entry position used more than once: 1"),
        (minimal() + minimal().replace("position = 1", "position = 2", 1),
         "category slug used more than once: allgemeines"),
    ],
    ids=["toml", "empty", "slug-format", "half-translation", "unknown-key",
         "duplicate-position", "duplicate-category"],
)
def test_invalid_content_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(FaqContentError, match=re.escape(reason)):
        parse_faq(text)


def test_an_entry_slug_may_be_used_only_once_across_categories() -> None:
    other = minimal().replace('"allgemeines"', '"weiteres"').replace("position = 1", "position = 2", 1)
    with pytest.raises(FaqContentError, match="entry slug used more than once: eine-frage"):
        parse_faq(minimal() + other)


def test_the_contact_entry_links_to_the_contact_form() -> None:
    entry = ENTRIES["frage-nicht-beantwortet"]
    assert '<a href="/kontakt"' in render_markdown(entry.answer)
    assert "Kontaktformular" in entry.answer
    assert '<a href="/kontakt"' in render_markdown(entry.answer_en or "")
