from uuid import UUID

import pytest

from portal_auth.domain import email, ownership
from portal_auth.domain.customer_import import CustomerImportError, CustomerRow, parse_customers_csv
from portal_auth.domain.customers import (
    is_registration_code,
    last_name_matches,
    normalise_customer_number,
    normalise_registration_code,
)


@pytest.mark.parametrize(
    ("on_file", "entered"),
    [
        ("Müller", "müller"),
        ("Müller", "  MÜLLER  "),
        ("Müller", "Mu\u0308ller"),  # decomposed umlaut
        ("Meier GmbH & Co. KG", "meier  gmbh & co. kg"),
        ("Straße", "STRASSE"),  # case-folding ß
    ],
)
def test_last_names_match_trimmed_normalised_and_case_insensitively(on_file: str, entered: str) -> None:
    assert last_name_matches(on_file, entered)


@pytest.mark.parametrize(
    ("on_file", "entered"),
    [
        # German letters as any keyboard types them (ä=ae, ö=oe, ü=ue, ß=ss), both ways.
        ("Müller", "Mueller"),
        ("Müller", "MUELLER"),
        ("Mueller", "Müller"),
        ("Jäger", "Jaeger"),
        ("Köhler", "KOEHLER"),
        ("Weiß", "Weiss"),
        ("WEISS", "weiß"),
        ("Strauß", "STRAUẞ"),  # capital sharp s
        ("Ärger-Öhler", "aerger oehler"),
        # Hyphen and space variants of double names.
        ("Schmidt-Öztürk", "Schmidt Oeztuerk"),
        ("Schmidt Öztürk", "schmidt-öztürk"),
        ("Schmidt-Öztürk", "Schmidt – Öztürk"),  # en dash, spaces around it
        ("Schmidt-Öztürk", "Schmidt‑Öztürk"),  # non-breaking hyphen
        ("Schmidt-Öztürk", "  schmidt   oeztuerk "),
        ("Müller-Lüdenscheidt", "Mueller-Luedenscheidt"),
        # Other accents, as typed without them; typographic apostrophes.
        ("Gonçalves", "Goncalves"),
        ("Desirée", "DESIREE"),
        ("O’Brien", "O'Brien"),
        ("Ørsted", "Oersted"),
        ("Mu\u0308ller", "Mueller"),  # decomposed umlaut on file
    ],
)
def test_last_names_match_across_transliterations_hyphens_and_case(on_file: str, entered: str) -> None:
    assert last_name_matches(on_file, entered)
    assert last_name_matches(entered, on_file)


@pytest.mark.parametrize(
    ("on_file", "entered"),
    [
        ("Müller", "Muller"),  # dropping the umlaut makes another name
        ("Meier", "Meyer"),
        ("Li", ""),
        ("Schmidt-Öztürk", "Schmidt"),
        ("Schmidt-Öztürk", "SchmidtOeztuerk"),  # parts run together are another spelling
        ("Schmidt-Öztürk", "Öztürk-Schmidt"),
        ("Weiß", "Weis"),
        ("", ""),
        ("-", " "),
    ],
)
def test_different_last_names_do_not_match(on_file: str, entered: str) -> None:
    assert not last_name_matches(on_file, entered)


def test_customer_numbers_ignore_surrounding_and_inner_spaces_and_width() -> None:
    assert normalise_customer_number(" 100 01 ") == "10001"
    assert normalise_customer_number("\uff11\uff10\uff10\uff10\uff11") == "10001"


@pytest.mark.parametrize("address", ["max@example.de", "Max.Mustermann+portal@sub.example.co.uk", "jürgen@müller.de"])
def test_valid_addresses(address: str) -> None:
    assert email.is_valid(address)


@pytest.mark.parametrize("address", ["", "max", "max@", "@example.de", "max@example", "a b@example.de", "max@@example.de", "max@example..de", "x" * 65 + "@example.de"])
def test_invalid_addresses(address: str) -> None:
    assert not email.is_valid(address)


def test_email_key_is_case_insensitive() -> None:
    assert email.key(" Max@Example.DE ") == email.key("max@example.de")


def test_csv_import_reads_rows_and_normalises() -> None:
    rows = parse_customers_csv("\ufeffcustomer_number,last_name\n10001,Mustermann\n 10002 , Müller  Lüdenscheidt \n\n")
    assert rows == [CustomerRow("10001", "Mustermann"), CustomerRow("10002", "Müller Lüdenscheidt")]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("number,name\n1,A\n", 1, "header"),
        ("customer_number,last_name\n10001,A\n10002\n", 3, "expected 2 columns"),
        ("customer_number,last_name\n10001,A\n,B\n", 3, "customer number is empty"),
        ("customer_number,last_name\n10001,\n", 2, "last name is empty"),
        ("customer_number,last_name\n10001,A\n10001,B\n", 3, "twice"),
        ("customer_number,last_name\n10-01,A\n", 2, "letters and digits"),
        ("", 1, "empty file"),
        ("customer_number,last_name,phone\n10001,A,1\n", 1, "header"),
        ("customer_number,last_name,email,email\n10001,A,a@b.de,a@b.de\n", 1, "header"),
        ("last_name,customer_number\nA,10001\n", 1, "header"),
        ("customer_number,last_name,email\n10001,A,max@example.de\n10002,B\n", 3, "expected 3 columns"),
        ("customer_number,last_name,email\n10001,A,max@example.de\n10002,B,kein-at\n", 3, "e-mail address"),
        ("customer_number,last_name,registration_code\n10001,A,ABCD-EFGH\n10002,B,KURZ\n", 3, "8 to 64"),
        ("customer_number,last_name,registration_code\n10001,A,ÄÖÜ-ÄÖÜ-ÄÖÜ\n", 2, "registration code"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_number(text: str, line: int, reason: str) -> None:
    with pytest.raises(CustomerImportError) as error:
        parse_customers_csv(text)
    assert error.value.line == line
    assert reason in error.value.reason


def test_email_keys_keep_different_addresses_apart() -> None:
    assert email.key("max@straße.de") != email.key("max@strasse.de")


def test_csv_import_reads_the_optional_address_and_code_in_any_order() -> None:
    rows = parse_customers_csv(
        "customer_number,last_name,registration_code,email\n"
        "10001,Mustermann, abcd-efgh-2345 , Max@Example.DE \n"
        "10002,Müller,,\n"
    )
    assert rows == [
        CustomerRow("10001", "Mustermann", "Max@Example.DE", "ABCDEFGH2345"),
        CustomerRow("10002", "Müller", None, None),
    ]


def test_a_bad_code_is_reported_without_showing_it() -> None:
    with pytest.raises(CustomerImportError) as error:
        parse_customers_csv("customer_number,last_name,registration_code\n10001,A,GEHEIM!!\n")
    assert "GEHEIM" not in str(error.value)


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("ABCD-EFGH-2345", "ABCDEFGH2345"),
        ("abcd efgh 2345", "ABCDEFGH2345"),
        (" abcd\u2013efgh.2345 ", "ABCDEFGH2345"),
        ("\uff41\uff42\uff43\uff44\uff45\uff46\uff47\uff48", "ABCDEFGH"),  # full-width
    ],
)
def test_registration_codes_are_compared_as_typed_from_a_letter(typed: str, normalised: str) -> None:
    assert normalise_registration_code(typed) == normalised
    assert is_registration_code(normalised)


@pytest.mark.parametrize("code", ["", "ABC1234", "A" * 65, "ÄBCDEFGH", "ABCD!EFGH"])
def test_registration_codes_are_8_to_64_letters_and_digits(code: str) -> None:
    assert not is_registration_code(normalise_registration_code(code))


# --- who may register and activate a customer number (domain.ownership) ---------------

OWNER, THIEF, OTHER = (UUID(int=i) for i in (1, 2, 3))


def holding(account: UUID, status: str, address: str, number: str = "10001") -> ownership.Holding:
    return ownership.Holding(account, status, number, address)


@pytest.mark.parametrize(
    ("on_file", "address", "holders", "expected"),
    [
        # Nothing on file, nobody holds it: a new pending registration.
        (None, "max@example.de", [], ownership.Decision(create=True)),
        # An address on file and another one given: nothing, the address on file is told.
        ("max@example.de", "thief@example.org", [holding(OWNER, "active", "max@example.de")],
         ownership.Decision(refused="other_address")),
        ("max@example.de", "max@example.de", [], ownership.Decision(create=True)),
        # An active holder is told, nothing is created (the seed's rule) ...
        (None, "thief@example.org", [holding(OWNER, "active", "max@example.de")],
         ownership.Decision(notify=(OWNER,))),
        # ... and when the address on file registers while another address holds the
        # customer number, the address on file learns that, too.
        ("max@example.de", "max@example.de", [holding(THIEF, "active", "thief@example.org")],
         ownership.Decision(notify=(THIEF,), refused="already_held", refused_about=THIEF)),
        # The address holds an account of another customer number.
        (None, "max@example.de", [holding(OTHER, "active", "max@example.de", "10002")],
         ownership.Decision(notify=(OTHER,))),
        # Pending ones: the same address is replaced, other addresses wait and are told.
        (None, "max@example.de",
         [holding(OWNER, "pending", "max@example.de"), holding(THIEF, "pending", "thief@example.org"),
          holding(OTHER, "pending", "max@example.de", "10002")],
         ownership.Decision(create=True, replace=(OWNER, OTHER), contest=(THIEF,))),
    ],
)
def test_what_a_matching_registration_leads_to(
    on_file: str | None, address: str, holders: list, expected: ownership.Decision
) -> None:
    assert ownership.decide("10001", on_file, address, holders) == expected


@pytest.mark.parametrize(
    ("on_file", "code_on_file", "address", "with_code", "allowed"),
    [
        (None, False, "max@example.de", False, True),
        ("max@example.de", False, "max@example.de", False, True),
        ("max@example.de", False, "thief@example.org", False, False),  # address imported meanwhile
        (None, True, "max@example.de", True, True),
        (None, True, "max@example.de", False, False),  # code imported meanwhile
    ],
)
def test_activation_needs_what_is_on_file_now(
    on_file: str | None, code_on_file: bool, address: str, with_code: bool, allowed: bool
) -> None:
    assert ownership.may_activate(on_file, code_on_file, address, with_code) is allowed


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("max@example.de", "m***@e***.de"),
        ("Erika.Mustermann@mail.example.co.uk", "E***@m***.uk"),
        ("a@localhost", "a***@l***"),
    ],
)
def test_masked_addresses_show_enough_to_recognise_them(address: str, masked: str) -> None:
    assert ownership.mask_email(address) == masked
