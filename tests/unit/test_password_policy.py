import pytest

from portal_auth.domain.password_policy import (
    MAX_LENGTH,
    RULE_IDS,
    RULES,
    PersonalData,
    common_passwords,
    contains_date,
    has_sequence,
    is_common,
    violations,
)
from portal_auth.domain.password_strength import strength

MAX = PersonalData(last_name="Mustermann", email="max.power@example.de", customer_number="10001")


def test_a_password_that_meets_every_rule_has_no_violations() -> None:
    assert violations("Sonne!Wind7Meer", MAX) == []


@pytest.mark.parametrize(
    ("password", "broken"),
    [
        ("Qz!9xvw", ["min_length"]),  # 7 characters
        ("Sonnewind7Meer", ["special_char"]),
        ("Sonne!WindMeer", ["digit"]),
        ("sonne!wind7meer", ["upper_and_lower"]),
        ("SONNE!WIND7MEER", ["upper_and_lower"]),
        ("Sonne!Wind7Meer123", ["no_sequence"]),
        ("", ["min_length", "special_char", "digit", "upper_and_lower"]),
    ],
)
def test_each_faq_rule_is_reported_by_its_id(password: str, broken: list[str]) -> None:
    assert violations(password) == broken


@pytest.mark.parametrize("run", ["abc", "CBA", "123", "987", "xYz", "Zyx", "789"])
def test_sequences_ascending_or_descending_in_any_case_are_found(run: str) -> None:
    assert has_sequence(f"Q!{run}#W")


@pytest.mark.parametrize("text", ["ab1", "a1b2c3", "aceg", "13579", "ab!c", "zab", "901", "äöü"])
def test_non_sequences_pass(text: str) -> None:
    assert not has_sequence(text)


def test_umlauts_count_as_letters_and_punctuation_or_spaces_as_special() -> None:
    assert violations("Grüße 5x Ölberg") == []


def test_unicode_is_normalised_before_counting() -> None:
    # Full-width digits are digits once NFKC-normalised.
    assert "digit" not in violations("Sonne!Wind\uff17Meer")


@pytest.mark.parametrize(
    "password",
    ["Passwort1!", "passwort", "Hallo123!", "Sommer2024!", "qwertz", "Schalke04!", "Iloveyou1!", "Fußball#7"],
)
def test_common_and_german_dictionary_passwords_are_refused(password: str) -> None:
    assert "not_common" in violations(password)


def test_the_common_list_is_a_real_list_with_german_entries() -> None:
    listed = common_passwords()
    assert len(listed) > 50_000
    assert {"123456", "password", "passwort", "hallo", "schatz", "müller"} <= listed


@pytest.mark.parametrize("password", ["Sonne!Wind7Meer", "Kx#4-mUtz9-Lapo", "7Zwerge!Blau"])
def test_unusual_passwords_are_not_common(password: str) -> None:
    assert not is_common(password)


@pytest.mark.parametrize(
    "password",
    [
        "Mustermann!7Q",   # last name
        "xMUSTERMANNx!7Q",  # any case
        "Max.Power!7Q",    # e-mail local part
        "power!7QxZ",      # a piece of the local part
        "Qz!10001xW",      # customer number
        "Qz!xW24.12.",     # day and month
        "Qz!xW1980",       # a year
        "Qz!xW241280",     # ddmmyy
        "Qz!xW19801224",   # yyyymmdd
    ],
)
def test_personal_data_and_dates_are_refused(password: str) -> None:
    assert "not_personal" in violations(password, MAX)


@pytest.mark.parametrize("text", ["qz!7w", "4711", "99 luftballons", "13:45"])
def test_numbers_that_are_not_dates_pass(text: str) -> None:
    assert not contains_date(text)


def test_long_passphrases_are_accepted_up_to_the_limit_and_never_truncated() -> None:
    phrase = "Mein Hund Bello!7 " * 15  # 270 characters
    assert violations(phrase[:128]) == []
    assert violations(phrase[:MAX_LENGTH]) == []
    assert violations(phrase) == ["max_length"]
    assert MAX_LENGTH >= 128


def test_every_rule_has_german_and_english_text_in_a_stable_order() -> None:
    assert RULE_IDS == (
        "min_length", "special_char", "digit", "upper_and_lower", "no_sequence",
        "not_common", "not_personal", "max_length",
    )
    assert all(r.text_de and r.text_en for r in RULES)


def test_strength_grows_with_guessing_effort_and_refused_passwords_stay_weak() -> None:
    personal = PersonalData()
    assert strength("", personal, ["min_length"]) == 0
    assert strength("Passwort1!", personal, ["not_common"]) <= 1
    assert strength("Kx#4-mUtz9-Lapo!Wq", personal, []) >= 3


# The argon2id settings the OWASP Password Storage Cheat Sheet lists as equally strong
# (memory in KiB, passes, lanes); the hasher must use one of them, never something weaker.
OWASP_ARGON2ID = {(47104, 1, 1), (19456, 2, 1), (12288, 3, 1), (9216, 4, 1), (7168, 5, 1)}


def test_password_hashes_use_an_argon2id_setting_from_the_owasp_cheat_sheet() -> None:
    from portal_auth.passwords import OWASP_PARAMETERS

    chosen = (OWASP_PARAMETERS["memory_cost"], OWASP_PARAMETERS["time_cost"], OWASP_PARAMETERS["parallelism"])
    assert chosen in OWASP_ARGON2ID


def test_a_password_that_nfkc_makes_overlong_is_refused_for_its_length_alone() -> None:
    # One "\ufdfa" becomes 18 characters: 1 024 of them must not be scanned rule by rule.
    assert violations("\ufdfa" * 1024, MAX) == ["max_length"]


def test_the_rules_the_customers_faq_lists_are_shown_in_its_own_words() -> None:
    # „Ihr Passwort muss mindestens folgende Voraussetzungen erfüllen:“, word for word.
    faq_rules = [
        "Enthält mindestens 8 Zeichen",
        "Enthält mindestens ein Sonderzeichen",
        "Enthält mindestens eine Ziffer",
        "Enthält Groß- und Kleinbuchstaben",
        "Enthält keine numerische und alphabetische Reihenfolge (z.B. ABC, 123)",
    ]
    assert [rule.text_de for rule in RULES[: len(faq_rules)]] == faq_rules
