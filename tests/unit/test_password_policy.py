import pytest

from portal_auth.domain.password_policy import RULES, has_sequence, violations


def test_a_password_that_meets_every_rule_has_no_violations() -> None:
    assert violations("Sonne!Wind7Meer") == []


@pytest.mark.parametrize(
    ("password", "broken"),
    [
        ("Ab1!xyq", ["min_length"]),  # 7 characters
        ("Sonnewind7Meer", ["special_char"]),
        ("Sonne!WindMeer", ["digit"]),
        ("sonne!wind7meer", ["upper_and_lower"]),
        ("SONNE!WIND7MEER", ["upper_and_lower"]),
        ("Sonne!Wind7Meer123", ["no_sequence"]),
        ("", ["min_length", "special_char", "digit", "upper_and_lower"]),
    ],
)
def test_each_rule_is_reported_by_its_id(password: str, broken: list[str]) -> None:
    assert violations(password) == broken


@pytest.mark.parametrize("run", ["abc", "CBA", "123", "987", "xYz", "Zyx", "789"])
def test_sequences_ascending_or_descending_in_any_case_are_found(run: str) -> None:
    assert has_sequence(f"Q!{run}#W")


@pytest.mark.parametrize("text", ["ab1", "a1b2c3", "aceg", "13579", "ab!c", "zab", "901", "äöü"])
def test_non_sequences_pass(text: str) -> None:
    assert not has_sequence(text)


def test_umlauts_count_as_letters_and_punctuation_or_spaces_as_special() -> None:
    assert violations("Grüße 2x Ölberg") == []


def test_unicode_is_normalised_before_counting() -> None:
    # Full-width digits are digits once NFKC-normalised.
    assert "digit" not in violations("Sonne!Wind\uff17Meer")


def test_every_rule_has_german_and_english_text() -> None:
    assert [r.id for r in RULES] == ["min_length", "special_char", "digit", "upper_and_lower", "no_sequence"]
    assert all(r.text_de and r.text_en for r in RULES)
