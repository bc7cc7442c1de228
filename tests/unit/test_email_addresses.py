"""E-mail addresses: what the APIs accept, the key they compare by, the form SMTP gets."""

from __future__ import annotations

import pytest

from portal_shared.email_address import (
    InvalidAddress,
    UnsupportedAddress,
    accept,
    comparison_key,
    parse,
    smtp_form,
)


@pytest.mark.parametrize(
    ("typed", "normalized", "ascii_form"),
    [
        ("max@example.de", "max@example.de", "max@example.de"),
        (" Max.Mustermann+portal@Sub.Example.co.uk ", "Max.Mustermann+portal@sub.example.co.uk",
         "Max.Mustermann+portal@sub.example.co.uk"),
        # Internationalised domains: stored in Unicode, mailed in punycode.
        ("max@müller.de", "max@müller.de", "max@xn--mller-kva.de"),
        ("max@MÜLLER.DE", "max@müller.de", "max@xn--mller-kva.de"),
        ("max@xn--mller-kva.de", "max@müller.de", "max@xn--mller-kva.de"),
        # IDNA 2008: ß is its own letter, not "ss".
        ("max@straße.de", "max@straße.de", "max@xn--strae-oqa.de"),
    ],
)
def test_accepted_addresses_are_normalised_and_have_an_ascii_form(
    typed: str, normalized: str, ascii_form: str
) -> None:
    address = accept(typed)
    assert (address.normalized, address.ascii) == (normalized, ascii_form)
    assert smtp_form(typed) == ascii_form


@pytest.mark.parametrize(
    "typed",
    ["", "max", "max@", "@example.de", "max@example", "a b@example.de", "max@@example.de",
     "max@example..de", "x" * 65 + "@example.de", "Max <max@example.de>", '"max"@example.de',
     "max@[192.0.2.1]", "max@localhost", "max@portal.test", "max@example.de\r\nBcc: x@y.de",
     "max@exa_mple.de"],
)
def test_what_is_not_an_address_is_refused(typed: str) -> None:
    with pytest.raises(InvalidAddress) as error:
        accept(typed)
    assert not isinstance(error.value, UnsupportedAddress)
    assert error.value.code == "invalid_email"


@pytest.mark.parametrize("typed", ["jörg@example.de", "jürgen@müller.de", "ä@xn--mller-kva.de"])
def test_a_local_part_that_is_not_ascii_is_well_formed_but_not_supported(typed: str) -> None:
    assert parse(typed).ascii is None
    with pytest.raises(UnsupportedAddress) as error:
        accept(typed)
    assert error.value.code == "email_not_supported"
    with pytest.raises(UnsupportedAddress):
        smtp_form(typed)


def test_one_address_in_any_spelling_has_one_key() -> None:
    spellings = ["max@müller.de", "Max@MÜLLER.de", "MAX@xn--mller-kva.de", " max@mu\u0308ller.de "]
    assert {accept(s).key for s in spellings} == {"max@müller.de"}
    assert {comparison_key(s) for s in spellings} == {"max@müller.de"}


def test_keys_keep_different_addresses_apart() -> None:
    assert accept("max@straße.de").key != accept("max@strasse.de").key


def test_keys_of_plain_addresses_are_what_they_were_before() -> None:
    # Accounts registered earlier were keyed by the address in lower case (NFC): a
    # plain address, or a Unicode domain typed in lower case, keeps its key.
    for typed in ("Max@Example.DE", "max@müller.de", "jörg@example.de"):
        assert comparison_key(typed) == typed.lower()


def test_anything_typed_into_a_login_form_has_a_key() -> None:
    assert comparison_key(" Kein Konto ") == "kein konto"


def test_the_mailer_may_send_to_configured_addresses_in_test_and_local_domains() -> None:
    assert smtp_form("support@portal.test") == "support@portal.test"
    assert smtp_form("no-reply@localhost") == "no-reply@localhost"
    with pytest.raises(InvalidAddress):
        smtp_form("not an address")


@pytest.mark.parametrize(
    "typed",
    ["max@example.de", "Max.Mustermann+portal@sub.example.co.uk", "o'neil@example.ie",
     "x_y-z@mail-server.example.com", "MAX@XN--MLLER-KVA.DE", "support@portal.test"],
)
def test_plain_ascii_addresses_take_the_short_way_to_the_same_smtp_form(typed: str) -> None:
    full = parse(typed, reachable_only=False).ascii
    assert full is not None
    # Domains are case-insensitive: the short way keeps the spelling, that is all.
    assert smtp_form(typed).lower() == full.lower()


@pytest.mark.parametrize("typed", ["a..b@example.de", ".a@example.de", "a@-x.de", "a b@x.de", "a@x.de\r\nBcc: b@y.de"])
def test_odd_ascii_addresses_still_get_the_full_check(typed: str) -> None:
    with pytest.raises(InvalidAddress):
        smtp_form(typed)
