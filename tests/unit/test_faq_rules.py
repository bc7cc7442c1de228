"""The FAQ service's pure rules: search queries and snippets, entity tags and conditional
requests, who may edit, the contact form, the key set document, the response cache."""

from __future__ import annotations

import asyncio
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from pydantic import ValidationError

from portal_faq.access import KeysUnavailable, parse_jwks, parse_roles
from portal_faq.cache import Rendered, ResponseCache
from portal_faq.domain.contact import (
    contact_limit,
    is_clean_text,
    is_plain_name,
    is_single_line,
    is_valid_email,
)
from portal_faq.domain.editors import may_edit
from portal_faq.domain.etags import (
    body_etag,
    not_modified,
    precondition_holds,
    state_etag,
)
from portal_faq.domain.search import (
    MARK_END,
    MARK_START,
    InvalidSearch,
    Term,
    parse_search,
    search_terms,
    snippet_html,
)
from portal_faq.schemas import ContactBody, EntryBody
from portal_shared.web import bearer_token

# --- search queries ------------------------------------------------------------------


def test_a_query_is_trimmed_and_its_spaces_collapsed() -> None:
    query = parse_search("  Passwort \t  vergessen\n", None)
    assert (query.text, query.limit) == ("Passwort vergessen", 10)


@pytest.mark.parametrize(
    ("query", "limit", "field", "code"),
    [
        (None, None, "q", "required"),
        ("", None, "q", "required"),
        (" \n ", None, "q", "required"),
        ("a" * 201, None, "q", "too_long"),
        ("passwort", "0", "limit", "out_of_range"),
        ("passwort", "51", "limit", "out_of_range"),
        ("passwort", "zehn", "limit", "not_an_integer"),
    ],
)
def test_invalid_queries_name_field_and_reason(
    query: str | None, limit: str | None, field: str, code: str
) -> None:
    with pytest.raises(InvalidSearch) as invalid:
        parse_search(query, limit)
    assert (invalid.value.field, invalid.value.code) == (field, code)


def test_the_limits_of_a_query_are_inclusive() -> None:
    assert parse_search("a" * 200, "50").limit == 50
    assert parse_search("a", "1").limit == 1


def test_search_terms_are_lower_case_words_each_once_with_synonyms() -> None:
    assert search_terms("Kennwort ÄNDERN, kennwort?") == [
        Term(0, "kennwort"), Term(0, "passwort"), Term(1, "ändern")
    ]
    assert search_terms("E-Mail-Adresse") == [Term(0, "e"), Term(1, "mail"), Term(2, "adresse")]
    assert search_terms("?! ---") == []


def test_a_long_query_looks_for_at_most_twelve_words() -> None:
    terms = search_terms(" ".join(f"wort{n}" for n in range(30)))
    assert [t.word for t in terms] == [f"wort{n}" for n in range(12)]


def marked(text: str) -> str:
    return text.replace("[", MARK_START).replace("]", MARK_END)


def test_a_snippet_marks_matches_and_escapes_everything_else() -> None:
    headline = marked("Nutzungsbedingungen &amp; [Datenschutz] &lt;script&gt;alert(1)")
    assert snippet_html(headline) == (
        "Nutzungsbedingungen &amp; <mark>Datenschutz</mark> &lt;script&gt;alert(1)"
    )


def test_a_snippet_never_carries_other_markup() -> None:
    assert snippet_html('<img src=x onerror="alert(1)">') == (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    )
    assert snippet_html(marked("[<b>fett</b>]")) == "<mark>&lt;b&gt;fett&lt;/b&gt;</mark>"


def test_snippet_marks_are_always_balanced() -> None:
    assert snippet_html(marked("a ] b [c")) == "a  b <mark>c</mark>"
    assert snippet_html(marked("[[a]]")) == "<mark>a</mark>"


def test_a_snippet_is_one_line() -> None:
    assert snippet_html("Zeile eins\n\n  Zeile   zwei ") == "Zeile eins Zeile zwei"


# --- entity tags -------------------------------------------------------------------

ROW = {"slug": "einloggen", "question": "Wie?", "position": 1, "updated_at": "2026-01-01"}


def test_a_body_tag_is_strong_and_follows_the_bytes() -> None:
    assert body_etag(b"{}") == body_etag(b"{}")
    assert body_etag(b"{}") != body_etag(b"[]")
    assert body_etag(b"{}").startswith('"') and not body_etag(b"{}").startswith("W/")


def test_a_state_tag_covers_every_field_and_names_the_language() -> None:
    assert state_etag(ROW, "de") == state_etag(dict(reversed(ROW.items())), "de")
    assert state_etag(ROW, "de") != state_etag(ROW, "en")
    assert state_etag(ROW, "de") != state_etag({**ROW, "question": "Wie denn?"}, "de")
    assert state_etag(ROW, "de").endswith('-de"')


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
    ],
)
def test_if_none_match_uses_weak_comparison(header: str | None, expected: bool) -> None:
    assert not_modified(header, '"abc"') is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [('"abc"', True), ('"old", "abc"', True), ("*", True), ('W/"abc"', False), ('"old"', False)],
)
def test_if_match_uses_strong_comparison(header: str, expected: bool) -> None:
    assert precondition_holds(header, {'"abc"', '"def"'}) is expected


# --- who may edit --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer  abc ", "abc"),
        ("Basic dXNlcjpwdw==", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("", None),
        (None, None),
    ],
)
def test_the_bearer_token_is_taken_from_the_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_only_the_editor_role_may_edit() -> None:
    assert may_edit(frozenset({"faq_editor"}))
    assert may_edit(["customer", "faq_editor"])
    assert not may_edit([])
    assert not may_edit(["customer", "FAQ_EDITOR", "faq_editors"])


def jwk(kid: str, **overrides: object) -> dict:
    public = json.loads(OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate().public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "EdDSA", **overrides}


def test_the_key_set_keeps_ed25519_signing_keys_by_id() -> None:
    keys = parse_jwks(
        {"keys": [jwk("a"), jwk("b"), jwk("enc", use="enc"), jwk("rsa", kty="RSA"), {"x": 1}]}
    )
    assert set(keys) == {"a", "b"}


@pytest.mark.parametrize("document", [None, [], {}, {"keys": "x"}, {"keys": [jwk("a", x="!!")]}])
def test_a_broken_key_set_gives_no_keys(document: object) -> None:
    assert parse_jwks(document) == {}


def test_the_session_answer_gives_the_current_roles() -> None:
    assert parse_roles({"roles": ["faq_editor"]}) == frozenset({"faq_editor"})
    assert parse_roles({"roles": []}) == frozenset()


@pytest.mark.parametrize("body", [None, [], {}, {"roles": "faq_editor"}, {"roles": [1]}])
def test_a_session_answer_without_a_list_of_roles_is_refused(body: object) -> None:
    with pytest.raises(KeysUnavailable):
        parse_roles(body)


def test_entries_need_a_whole_translation_or_none() -> None:
    base = {"category": "allgemeines", "position": 1, "question": "Frage?", "answer": "Antwort."}
    assert EntryBody.model_validate(base).question_en is None
    with pytest.raises(ValidationError, match="translation_incomplete"):
        EntryBody.model_validate({**base, "question_en": "Question?"})


# --- the contact form ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("erika@example.de", True),
        ("erika.mustermann+faq@sub.example.co.uk", True),
        ("erika@müller.de", True),
        # Well-formed, but no receipt could reach it: refused as email_not_supported.
        ("jürgen@müller.de", False),
        ("erika@example", False),
        ("erika example@example.de", False),
        ("erika@@example.de", False),
        ("erika@example..de", False),
        ("<erika@example.de>", False),
        ("a" * 65 + "@example.de", False),
    ],
)
def test_email_syntax(address: str, valid: bool) -> None:
    assert is_valid_email(address) is valid


def test_header_fields_are_single_lines_and_the_message_keeps_its_lines() -> None:
    assert is_single_line("Frage zur Rechnung")
    assert not is_single_line("Frage\r\nBcc: x@example.de")
    assert not is_single_line("Frage\u2028Bcc: x@example.de")
    assert is_clean_text("Zeile 1\r\nZeile 2\n\tEingerückt")
    assert not is_clean_text("Glocke\x07")


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("Erika Mustermann", True),
        ("Jürgen Müller-Lüdenscheidt", True),
        ("Müller, Hans (Einkauf)", True),
        ("Was=ist?los", True),
        ("=?utf-8?q?Chef=0D=0ABcc=3A_x=40evil?=", False),
        ("Erika =?iso-8859-1?q?M=FCller?=", False),
        ("Erika\r\nBcc: x@evil.example", False),
    ],
)
def test_a_name_must_be_safe_as_a_display_name(name: str, plain: bool) -> None:
    assert is_plain_name(name) is plain


def test_the_contact_form_cleans_what_it_accepts() -> None:
    body = ContactBody.model_validate(
        {"name": "  Erika ", "email": " erika@example.de ", "subject": "Hallo",
         "message": " Text \n"}
    )
    assert (body.name, body.email, body.message) == ("Erika", "erika@example.de", "Text")
    assert body.customer_number is None and body.locale is None


def test_the_contact_limit_counts_per_hour() -> None:
    limit = contact_limit(5)
    assert (limit.name, limit.hits, limit.window.total_seconds()) == ("contact", 5, 3600)


# --- the response cache --------------------------------------------------------------


def rendered(text: str) -> Rendered:
    return Rendered(text.encode(), body_etag(text.encode()), "de")


async def test_the_cache_renders_once_until_invalidated() -> None:
    cache = ResponseCache(max_entries=10)
    cache.enable()
    calls: list[str] = []

    async def render() -> Rendered:
        calls.append("x")
        return rendered(f"v{len(calls)}")

    assert (await cache.get_or_render("faq", render)).body == b"v1"
    assert (await cache.get_or_render("faq", render)).body == b"v1"
    cache.invalidate()
    assert (await cache.get_or_render("faq", render)).body == b"v2"
    assert (cache.hits, cache.misses) == (1, 2)


async def test_an_answer_rendered_across_an_invalidation_is_not_kept() -> None:
    cache = ResponseCache(max_entries=10)
    cache.enable()
    reading = asyncio.Event()
    proceed = asyncio.Event()

    async def slow_render() -> Rendered:
        reading.set()
        await proceed.wait()  # the content changes while this read is under way
        return rendered("old")

    task = asyncio.create_task(cache.get_or_render("faq", slow_render))
    await reading.wait()
    cache.invalidate()
    proceed.set()
    assert (await task).body == b"old"
    assert len(cache) == 0


async def test_a_disabled_cache_always_renders_and_keeps_nothing() -> None:
    cache = ResponseCache(max_entries=10)

    async def render() -> Rendered:
        return rendered("x")

    await cache.get_or_render("faq", render)
    await cache.get_or_render("faq", render)
    assert (cache.hits, cache.misses, len(cache)) == (0, 2, 0)


async def test_not_found_is_not_cached_and_old_answers_make_room() -> None:
    cache = ResponseCache(max_entries=2)
    cache.enable()

    async def missing() -> None:
        return None

    assert await cache.get_or_render("gone", missing) is None
    assert len(cache) == 0
    for key in ("a", "b", "c"):
        await cache.get_or_render(key, lambda key=key: _value(key))
    assert len(cache) == 2
    await cache.get_or_render("b", lambda: _value("b2"))
    assert cache.hits == 1  # "b" stayed, "a" made room


async def _value(text: str) -> Rendered:
    return rendered(text)


# --- the editor decision, and domain errors at the HTTP edge -----------------------


def test_an_editor_passes_and_others_are_told_why() -> None:
    from portal_faq.domain.editors import require_editor
    from portal_faq.domain.errors import NotAnEditor, NotAuthenticated

    require_editor(frozenset({"faq_editor", "customer"}))
    with pytest.raises(NotAnEditor):
        require_editor(frozenset({"customer"}))
    with pytest.raises(NotAuthenticated) as ended:
        require_editor(None)  # the session ended after the token was issued
    assert ended.value.invalid_token


def test_domain_errors_become_their_problems() -> None:
    from portal_faq.domain import errors
    from portal_faq.problems import problem_for

    cases = {
        errors.EntryNotFound("x"): (404, "faq_entry_not_found", {}),
        errors.CategoryNotFound("x"): (404, "faq_category_not_found", {}),
        errors.PreconditionRequired(): (428, "precondition_required", {}),
        errors.PreconditionFailed(): (412, "precondition_failed", {}),
        errors.SlugTaken(): (409, "slug_taken", {}),
        errors.PositionTaken(): (409, "position_taken", {}),
        errors.CategoryNotEmpty(): (409, "category_not_empty", {}),
        errors.NotAnEditor(): (403, "forbidden", {}),
        errors.UnknownCategory("x"): (422, "validation_error", {}),
        errors.NotAuthenticated(invalid_token=False): (401, "unauthorized", {"WWW-Authenticate": "Bearer"}),
        errors.NotAuthenticated(invalid_token=True): (
            401, "unauthorized", {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ),
        errors.AuthUnavailable(): (503, "service_unavailable", {"Retry-After": "30"}),
        errors.TooManyRequests(17): (429, "too_many_attempts", {"Retry-After": "17"}),
    }
    for error, (status, code, headers) in cases.items():
        problem = problem_for(error)
        assert (problem.kind.status, problem.kind.code) == (status, code), error
        assert dict(problem.headers or {}) == headers, error
    unknown = problem_for(errors.UnknownCategory("x"))
    assert [(e.field, e.code) for e in unknown.errors] == [("category", "unknown_category")]
