"""Password validators: length, likeness, common passwords, digits; no composition rules."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kettle.auth import PasswordValidationError, validate_password
from kettle.auth.validators import (
    CommonPassword,
    MinimumLength,
    NotNumeric,
    UserAttributeSimilarity,
    common_passwords,
    default_validators,
)

ANN = SimpleNamespace(username="annsmith", email="ann.smith@example.org")


def messages(password: str, user: object = None) -> list[str]:
    try:
        validate_password(password, user)
    except PasswordValidationError as error:
        return error.messages
    return []


def test_the_minimum_length_is_ten_by_default() -> None:
    assert messages("x7-kettle") == ["This password is too short: use at least 10 characters."]
    assert messages("x7-kettles") == []
    with pytest.raises(PasswordValidationError):
        MinimumLength(12)("x7-kettles!", None)


def test_passwords_like_the_username_or_email_are_refused() -> None:
    assert messages("annsmith12", ANN) == ["This password is too similar to the username."]
    assert messages("ann.smith@example.org", ANN) == ["This password is too similar to the email."]
    assert messages("annsmith12") == []  # without a user nothing to compare with
    assert messages("tea-at-altitude-1865", ANN) == []


def test_similarity_has_a_threshold() -> None:
    strict = UserAttributeSimilarity(max_similarity=0.3)
    with pytest.raises(PasswordValidationError):
        strict("smithy-kettle-ann", ANN)
    UserAttributeSimilarity(max_similarity=0.95)("annsmith12", ANN)  # lenient: passes


def test_the_common_password_list_is_big_and_loaded_lazily() -> None:
    common_passwords.cache_clear()
    assert common_passwords.cache_info().currsize == 0
    assert messages("qwertyuiop") == ["This password is too common."]
    assert common_passwords.cache_info().currsize == 1
    assert len(common_passwords()) >= 20_000
    assert messages("Password123") == ["This password is too common."]  # any case
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
    assert messages("123456", ANN) == [
        "This password is too short: use at least 10 characters.",
        "This password is too common.",
        "This password is entirely numeric.",
    ]


def test_validators_can_be_chosen() -> None:
    def no_kettle(password: str, user: object = None) -> None:
        if "kettle" in password:
            raise PasswordValidationError(["Do not use the site's name."])

    with pytest.raises(PasswordValidationError) as caught:
        validate_password("my kettle", validators=[no_kettle])
    assert caught.value.messages == ["Do not use the site's name."]
    validate_password("short", validators=[])
    assert len(default_validators()) == 4
