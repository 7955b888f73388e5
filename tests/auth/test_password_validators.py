"""Password validators: length, likeness, common passwords, digits; no composition rules."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kettle.auth import PasswordValidationError, validate_password
from kettle.auth.validators import (
    CommonPassword,
    MinimumLength,
    NotNumeric,
    Strength,
    UserAttributeSimilarity,
    common_passwords,
    default_validators,
)

ANN = SimpleNamespace(username="annsmith", email="ann.smith@example.org")


def messages(password: str, user: object = None, validators: list[Any] | None = None) -> list[str]:
    try:
        validate_password(password, user, validators)
    except PasswordValidationError as error:
        return error.messages
    return []


def test_the_minimum_length_is_ten_by_default() -> None:
    short = "This password is too short: use at least 10 characters."
    assert messages("x7-kettle")[0] == short
    assert messages("x7-kettle", validators=[MinimumLength()]) == [short]
    assert messages("x7-kettles") == []
    with pytest.raises(PasswordValidationError):
        MinimumLength(12)("x7-kettles!", None)


def test_passwords_like_the_username_or_email_are_refused() -> None:
    similar = [UserAttributeSimilarity()]
    assert messages("annsmith12", ANN, similar) == ["This password is too similar to the username."]
    assert messages("ann.smith@example.org", ANN, similar) == [
        "This password is too similar to the email."
    ]
    assert messages("annsmith12", None, similar) == []  # without a user nothing to compare
    assert messages("tea-at-altitude-1865", ANN) == []


def test_similarity_has_a_threshold() -> None:
    strict = UserAttributeSimilarity(max_similarity=0.3)
    with pytest.raises(PasswordValidationError):
        strict("smithy-kettle-ann", ANN)
    UserAttributeSimilarity(max_similarity=0.95)("annsmith12", ANN)  # lenient: passes


def test_the_common_password_list_is_big_and_loaded_lazily() -> None:
    common_passwords.cache_clear()
    assert common_passwords.cache_info().currsize == 0
    assert messages("qwertyuiop", None, [CommonPassword()]) == ["This password is too common."]
    assert "This password is too common." in messages("qwertyuiop")
    assert common_passwords.cache_info().currsize == 1
    assert len(common_passwords()) >= 20_000
    assert messages("Password123", None, [CommonPassword()]) == ["This password is too common."]
    with pytest.raises(PasswordValidationError):
        CommonPassword()("football", None)


def test_entirely_numeric_passwords_are_refused() -> None:
    assert "This password is entirely numeric." in messages("20240917123456")
    NotNumeric()("2024-09-17-12", None)


def test_no_composition_rules() -> None:
    # All lower case, no digit, no symbol: a long passphrase is a good password.
    assert messages("correct horse battery staple") == []
    assert messages("mijn fiets staat op het dak") == []


def test_long_passwords_pass_and_nothing_is_truncated() -> None:
    assert messages("a long pass phrase with tea " * 8) == []


def test_every_problem_is_reported_at_once() -> None:
    found = messages("123456", ANN)
    assert found[:3] == [
        "This password is too short: use at least 10 characters.",
        "This password is too common.",
        "This password is entirely numeric.",
    ]
    assert found[3].startswith("This password is too easy to guess: ")
    assert len(found) == 4


def test_validators_can_be_chosen() -> None:
    def no_kettle(password: str, user: object = None) -> None:
        if "kettle" in password:
            raise PasswordValidationError(["Do not use the site's name."])

    with pytest.raises(PasswordValidationError) as caught:
        validate_password("my kettle", validators=[no_kettle])
    assert caught.value.messages == ["Do not use the site's name."]
    validate_password("short", validators=[])
    assert len(default_validators()) == 5


# --- strength (zxcvbn) -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaaaa", 'repeats like "aaa" are easy to guess.'),
        ("abcdefghij", 'sequences like "abc" or "6543" are easy to guess.'),
        ("Password1!", "this is similar to a commonly used password."),
        ("hunter2hunter2", "repeats like"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    found = messages(password)
    assert found, f"{password!r} was accepted"
    strength = [m for m in found if m.startswith("This password is too easy to guess")]
    assert len(strength) == 1, found
    assert why in strength[0]
    assert strength[0].endswith(".")  # a suggestion follows the reason
    assert "Add another word" in strength[0] or "Avoid" in strength[0]


def test_the_accounts_own_words_make_a_password_weak() -> None:
    words = SimpleNamespace(username="quillonbury", email="zed.marrow@example.org")
    assert messages("quillonbury-zed") == []
    refused = messages("quillonbury-zed", words)
    assert any("too easy to guess" in m for m in refused), refused
    # Any text field of a user model counts, not only the usual four.
    from kettle.auth import User

    user = User(username="xq", email="")
    assert "xq" in Strength(attributes=()).user_inputs(user)
    assert "quillonbury" not in Strength(attributes=()).user_inputs(words)
    assert Strength(extra_inputs=("kettle",)).user_inputs(None) == ["kettle"]


def test_the_minimum_score_is_configurable() -> None:
    with pytest.raises(PasswordValidationError):
        Strength(min_score=4)("x7-kettles", None)  # score 3
    Strength(min_score=3)("x7-kettles", None)
    Strength(min_score=0)("abcdefghij", None)
    with pytest.raises(ValueError, match="from 0 to 4"):
        Strength(min_score=5)


def test_passwords_used_throughout_the_tests_and_docs_are_strong() -> None:
    for password in (
        "tea-at-altitude-1865",
        "kettles-whistle-at-dawn",
        "correct horse battery staple",
        "mijn fiets staat op het dak",
    ):
        assert messages(password, ANN) == [], password


def test_zxcvbn_sees_at_most_max_input_characters() -> None:
    import time

    strength = Strength()
    started = time.perf_counter()
    strength("tea-at-altitude-1865" + "a" * 100_000, None)  # analysed up to 72 characters
    assert time.perf_counter() - started < 1
    with pytest.raises(PasswordValidationError):
        Strength(max_input=10)("aaaaaaaaaa" + "tea-at-altitude-1865", None)
