"""Password validators: length, likeness to the account, common passwords, digits only,
and strength as zxcvbn estimates it (repeats, sequences, keyboard patterns, the account's
own words).

No composition rules (no "one upper-case letter and one symbol") and no maximum that
truncates: that is NIST SP 800-63B's and OWASP's advice. Each validator is a callable
that raises ``PasswordValidationError``; ``validate_password`` runs a list of them and
reports every problem at once::

    validate_password("kettle2024", user=ann)
    # PasswordValidationError: ['This password is too common.', ...]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any, Protocol

from kettle.i18n._gettext import active
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_

# The account's attributes as a refusal names them (translated where they are used).
_ATTRIBUTES = {
    "username": N_("username"),
    "email": N_("email"),
    "first_name": N_("first name"),
    "last_name": N_("last name"),
}


class PasswordValidationError(ValueError):
    """A password was refused; ``messages`` lists every reason, for the form to show::

    try:
        validate_password("123")
    except PasswordValidationError as error:
        error.messages   # ["This password is too short: use at least 10 characters.", ...]
    """

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        super().__init__(" ".join(self.messages))


class PasswordValidator(Protocol):
    """``validator(password, user)`` raises ``PasswordValidationError`` to refuse.

    ``user`` is the account the password is for (``None`` when there is none yet)::

        def no_kettle(password: str, user: object | None) -> None:
            if "kettle" in password.lower():
                raise PasswordValidationError(["Do not use the site's name."])
    """

    def __call__(self, password: str, user: Any | None = None) -> None: ...


class MinimumLength:
    """At least ``min_length`` characters (10 by default)::

    MinimumLength(12)("short", None)   # PasswordValidationError
    """

    def __init__(self, min_length: int = 10) -> None:
        self.min_length = min_length

    def __call__(self, password: str, user: Any | None = None) -> None:
        if len(password) < self.min_length:
            raise PasswordValidationError(
                [
                    _("This password is too short: use at least %(n)d characters.")
                    % {"n": self.min_length}
                ]
            )


class UserAttributeSimilarity:
    """Not too close to the account's username, e-mail address (and its parts), or names.

    ``max_similarity`` is a ``difflib`` ratio in 0..1; 0.7 refuses ``annsmith1`` for
    the user ``annsmith``::

        UserAttributeSimilarity()("annsmith1", ann)   # PasswordValidationError
    """

    def __init__(
        self,
        attributes: Sequence[str] = ("username", "email", "first_name", "last_name"),
        max_similarity: float = 0.7,
    ) -> None:
        self.attributes = tuple(attributes)
        self.max_similarity = max_similarity

    def __call__(self, password: str, user: Any | None = None) -> None:
        if user is None:
            return
        lowered = password.lower()
        for attribute in self.attributes:
            value = getattr(user, attribute, None)
            if not isinstance(value, str) or not value:
                continue
            parts = {value.lower(), *re.split(r"\W+", value.lower())}
            for part in parts:
                # PERF: quick_ratio() is an upper bound; most pairs stop there.
                if len(part) < 3:
                    continue
                matcher = SequenceMatcher(a=lowered, b=part)
                if (
                    matcher.quick_ratio() >= self.max_similarity
                    and matcher.ratio() >= self.max_similarity
                ):
                    label = _(_ATTRIBUTES.get(attribute, attribute.replace("_", " ")))
                    message = _("This password is too similar to the %(attribute)s.")
                    raise PasswordValidationError([message % {"attribute": label}])


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's list, loaded on first use::

    "dragon" in common_passwords()   # True
    """
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(FREQUENCY_LISTS["passwords"])


class CommonPassword:
    """Not one of the most common passwords (case-insensitive)::

    CommonPassword()("Password1", None)   # PasswordValidationError
    """

    def __call__(self, password: str, user: Any | None = None) -> None:
        if password.lower().strip() in common_passwords():
            raise PasswordValidationError([_("This password is too common.")])


class NotNumeric:
    """Not made of digits only::

    NotNumeric()("20240917123", None)   # PasswordValidationError
    """

    def __call__(self, password: str, user: Any | None = None) -> None:
        if password.isdigit():
            raise PasswordValidationError([_("This password is entirely numeric.")])


class Strength:
    """Hard enough to guess by zxcvbn's estimate: its score (0-4) at least ``min_score``.

    zxcvbn finds what makes passwords easy: repeats (``aaaaaaaaaaaa``), sequences
    (``abcdefghij``), keyboard patterns, dates, common passwords with a capital and a digit
    (``Password1!``), and the account's own username, e-mail address and names, which it
    gets as ``user_inputs`` with ``extra_inputs`` (the site's name, say). The message says
    what it found and what to do. Score 3 (the default) resists an offline attack on a
    slow hash; long passphrases pass easily::

        Strength()("abcdefghij", None)             # PasswordValidationError
        Strength(min_score=4)("tea-at-altitude-1865", ann)   # passes

    ``max_input`` caps what zxcvbn looks at (its matching slows down on long inputs); the
    rest of a longer password counts too, only it is not analysed.
    """

    def __init__(
        self,
        min_score: int = 3,
        *,
        attributes: Sequence[str] = ("username", "email", "first_name", "last_name"),
        extra_inputs: Sequence[str] = (),
        max_input: int = 72,
    ) -> None:
        if not 0 <= min_score <= 4:
            raise ValueError(f"Strength(min_score={min_score}): zxcvbn scores run from 0 to 4.")
        self.min_score = min_score
        self.attributes = tuple(attributes)
        self.extra_inputs = tuple(extra_inputs)
        self.max_input = max_input

    def user_inputs(self, user: Any | None) -> list[str]:
        """The words of the account zxcvbn treats as easy guesses: the attributes, every
        other text field of a model, and the parts of the e-mail address."""
        values: list[str] = list(self.extra_inputs)
        if user is None:
            return values
        names = list(self.attributes)
        table = getattr(type(user), "__table__", None)
        if table is not None:  # a kettle.db model: its other text columns too
            names += [c.key for c in table.columns if c.key not in _NOT_INPUTS]
        for name in dict.fromkeys(names):
            value = getattr(user, name, None)
            if isinstance(value, str) and value:
                values += [value, *(part for part in re.split(r"[\W_]+", value) if part)]
        return values

    def __call__(self, password: str, user: Any | None = None) -> None:
        from zxcvbn import zxcvbn  # type: ignore[import-untyped]

        sample = password[: self.max_input]
        result = zxcvbn(sample, user_inputs=self.user_inputs(user), max_length=self.max_input)
        if result["score"] >= self.min_score:
            return
        feedback = result["feedback"]
        # zxcvbn's own feedback is English only: another language gets the general advice.
        english = (active().code or "en").split("-")[0] == "en"
        found = str(feedback.get("warning") or "") if english else ""
        suggestions = feedback.get("suggestions") or () if english else ()
        advice = " ".join(str(text) for text in suggestions)
        if found:
            reason = found[0].lower() + found[1:].rstrip(".")
            message = _("This password is too easy to guess: %(reason)s.") % {"reason": reason}
        else:
            message = _("This password is too easy to guess.")
        advice = advice or _("Add another word or two. Uncommon words are better.")
        raise PasswordValidationError([f"{message} {advice}"])


#: Columns that are not words of the user (``Strength.user_inputs``).
_NOT_INPUTS = frozenset({"password", "username_key"})


def default_validators() -> tuple[PasswordValidator, ...]:
    """The validators ``Auth`` uses unless ``AuthOptions(password_validators=...)`` says::

    validate_password("x" * 12, validators=default_validators())
    """
    return (MinimumLength(), UserAttributeSimilarity(), CommonPassword(), NotNumeric(), Strength())


def validate_password(
    password: str,
    user: Any | None = None,
    validators: Sequence[PasswordValidator] | None = None,
) -> None:
    """Run every validator; raise one ``PasswordValidationError`` with all their messages::

    validate_password("tea-at-altitude-1865", user=ann)   # passes
    """
    messages: list[str] = []
    for validator in default_validators() if validators is None else validators:
        try:
            validator(password, user)
        except PasswordValidationError as error:
            messages.extend(error.messages)
    if messages:
        raise PasswordValidationError(messages)


__all__ = [
    "CommonPassword",
    "MinimumLength",
    "NotNumeric",
    "PasswordValidationError",
    "PasswordValidator",
    "Strength",
    "UserAttributeSimilarity",
    "common_passwords",
    "default_validators",
    "validate_password",
]
