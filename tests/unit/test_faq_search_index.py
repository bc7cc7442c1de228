"""The in-memory search index (pure): stems, prefixes, guesses for misspellings and
compound parts, ranking, highlighting and escaping, per language."""

from __future__ import annotations

import json
import re

from portal_faq.domain.search_index import Entry, SearchIndex, lexemes
from portal_faq.search import search_body
from portal_faq.views import encode, search_view


def entry(slug: str, question: str, answer: str, position: int, **extra: object) -> Entry:
    fields: dict[str, object] = {
        "slug": slug,
        "question": question,
        "answer_markdown": answer,
        "answer_html": f"<p>{answer}</p>",
        "question_en": None,
        "answer_en_markdown": None,
        "answer_en_html": None,
        "position": position,
        "category_slug": "anmeldung",
        "category_title": "Anmeldung",
        "category_title_en": "Login",
        "category_position": 1,
    }
    fields.update(extra)
    return Entry(**fields)  # type: ignore[arg-type]


INDEX = SearchIndex(
    [
        entry(
            "passwort-vergessen",
            "Ich habe mein Passwort vergessen. Was kann ich tun?",
            "Klicken Sie auf „Passwort vergessen“ und folgen Sie dem Link in der E-Mail.",
            1,
            question_en="I have forgotten my password. What can I do?",
            answer_en_markdown="Click „Forgot password“ and follow the link in the email.",
            answer_en_html="<p>Click „Forgot password“ and follow the link in the email.</p>",
        ),
        entry(
            "passwort-anforderungen",
            "Welche Anforderungen muss mein Passwort erfüllen?",
            "Mindestens 8 Zeichen, ein Sonderzeichen & eine Ziffer, `<b>` zählt.",
            2,
            # The answer's HTML: tags are dropped, text (entities decoded) escaped again.
            answer_html="<p>Mindestens 8 Zeichen, ein <em>Sonderzeichen</em> &amp; eine Ziffer,"
            " <code>&lt;b&gt;</code> zählt.</p>",
        ),
        entry(
            "aktivierungslink",
            "Wie lange ist der Aktivierungslink gültig?",
            "Der Link ist 24 Stunden gültig. " + " ".join(["Danach"] * 40) + " neu anfordern.",
            3,
        ),
    ]
)


def slugs(query: str, limit: int = 10, language: str = "de") -> list[str]:
    return [r["slug"] for r in INDEX.search(query, limit, language)]


def test_german_and_english_stems_of_a_word() -> None:
    assert lexemes("passwörter") == {"passwort", "passwörter"}
    assert lexemes("der") == {"der"}  # a German stop word, but an English word
    assert lexemes("und") == {"und"}
    assert lexemes("the") == {"the"}


def test_inflections_and_half_typed_words_match() -> None:
    assert slugs("Passwörter")[:2] == ["passwort-vergessen", "passwort-anforderungen"]
    assert slugs("aktivier") == ["aktivierungslink"]  # a stem of 4+ letters is a prefix


def test_misspellings_and_compound_parts_are_guessed() -> None:
    assert "passwort-anforderungen" in slugs("Pasword")
    assert "passwort-anforderungen" in slugs("Passwortregeln")
    assert slugs("Sonderzeichn") == ["passwort-anforderungen"]


def test_more_of_the_typed_words_rank_first() -> None:
    assert slugs("passwort vergessen")[0] == "passwort-vergessen"
    assert slugs("passwort sonderzeichen")[0] == "passwort-anforderungen"


def test_unknown_words_stop_words_and_numbers_find_nothing() -> None:
    assert slugs("Rechnung Lastschrift") == []
    assert slugs("der die das") == []
    assert slugs("4711") == []


def test_limit() -> None:
    assert len(slugs("passwort", limit=1)) == 1


def test_highlighting_marks_matches_and_escapes_everything_else() -> None:
    [result] = INDEX.search("Sonderzeichen", 10, "de")
    assert result["question_html"] == "Welche Anforderungen muss mein Passwort erfüllen?"
    assert result["snippet_html"] == (
        "Mindestens 8 Zeichen, ein <mark>Sonderzeichen</mark> &amp; eine Ziffer, &lt;b&gt; zählt"
    )
    for html in (result["question_html"], result["snippet_html"]):
        assert set(re.findall(r"</?([a-zA-Z]+)", html)) <= {"mark"}


def test_a_long_answer_shows_a_fragment_around_the_match() -> None:
    [result] = INDEX.search("Stunden", 10, "de")
    snippet = result["snippet_html"]
    assert "24 <mark>Stunden</mark> gültig" in snippet
    assert len(snippet.split()) == 30  # of 47 words


def test_english_shows_the_translation_and_falls_back_to_german() -> None:
    english = {r["slug"]: r for r in INDEX.search("forgot password", 10, "en")}
    first = english["passwort-vergessen"]
    assert first["english"] is True
    # "forgot" is a stem of four letters or more: a prefix of "forgotten" too.
    assert first["question_html"] == (
        "I have <mark>forgotten</mark> my <mark>password</mark>. What can I do?"
    )
    assert first["category_title"] == "Login"
    untranslated = {r["slug"]: r for r in INDEX.search("passwort", 10, "en")}
    assert untranslated["passwort-anforderungen"]["english"] is False
    assert untranslated["passwort-anforderungen"]["question"].startswith("Welche")


def test_the_search_body_is_the_views_json_byte_for_byte() -> None:
    for language in ("de", "en"):
        results = INDEX.search("passwort vergessen", 10, language)
        body = search_body(results, language)
        assert body == encode(search_view(results, language))
        assert json.loads(body)["results"][0]["slug"] == "passwort-vergessen"
    assert search_body([], "de") == b'{"language":"de","results":[]}'


def test_fragments_next_to_each_other_are_shown_as_one_text() -> None:
    # The customer's own answers: two matches about 30 words apart gave two fragments
    # that touched, joined by " … " where the text had "E-" or ". " ("eine … Mail", "z … B.").
    rules = entry(
        "passwort-anforderungen",
        "Welche Anforderungen muss mein Kennwort erfüllen?",
        "Ihr Passwort muss mindestens folgende Voraussetzungen erfüllen: Enthält mindestens 8 Zeichen"
        " Enthält mindestens ein Sonderzeichen Enthält mindestens eine Ziffer Enthält Groß- und"
        " Kleinbuchstaben Enthält keine numerische und alphabetische Reihenfolge (z.B. ABC, 123) Ist"
        " kein häufig verwendetes Passwort und kein Wort aus dem Wörterbuch Enthält keinen persönlichen"
        " Bezug wie Ihren Namen oder ein Datum (z.B. Geburtstag) Enthält höchstens 256 Zeichen",
        1,
    )
    forgot = entry(
        "passwort-vergessen",
        "Was tun, wenn es weg ist?",
        "Wählen Sie die Funktion „Passwort vergessen“ auf der Login-Seite des Kundenportals aus. Geben"
        " Sie Ihre Kundennummer und die bei uns hinterlegte E-Mail-Adresse ein. Sie erhalten dann eine"
        " E-Mail mit einem Link. Wählen Sie den Link aus. Danach können Sie ein neues Passwort vergeben."
        " Sollte der Link nicht in blauer Farbe angezeigt werden oder sich keine Website öffnen, kopieren"
        " Sie bitte den Link und fügen Sie ihn in Ihrem Browser ein.",
        2,
    )
    snippets = {r["slug"]: r["snippet_html"] for r in SearchIndex([rules, forgot]).search("Passwort", 10, "de")}
    assert "Reihenfolge (z.B. ABC, 123) Ist kein" in snippets["passwort-anforderungen"]
    assert "Sie erhalten dann eine E-Mail mit einem Link" in snippets["passwort-vergessen"]
    assert "…" not in snippets["passwort-anforderungen"] + snippets["passwort-vergessen"]


def test_fragments_far_apart_keep_the_ellipsis() -> None:
    far = entry(
        "weit", "Frage?", "Passwort " + " ".join(["Füllwort"] * 80) + " Passwort am Ende.", 1,
    )
    [result] = SearchIndex([far]).search("Passwort", 10, "de")
    assert result["snippet_html"].count(" … ") == 1
