"""Argon2id hashing: OWASP's parameters, no truncation, rehash when parameters change."""

from __future__ import annotations

import argon2
import pytest
from authsite import PASSWORD, Site, csrf_from

from kettle.auth import Argon2Hasher, PasswordHasher, User
from kettle.auth.hashers import dummy_verify
from kettle.testing import TestClient


def test_the_defaults_are_owasps_argon2id_parameters() -> None:
    encoded = Argon2Hasher().hash("whatever it is")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    parameters = argon2.extract_parameters(encoded)
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (19456, 2, 1)


def test_verify_accepts_the_password_and_refuses_others_and_junk() -> None:
    hasher = Argon2Hasher(memory_cost=256, time_cost=1)
    encoded = hasher.hash(PASSWORD)
    assert hasher.verify(encoded, PASSWORD)
    assert not hasher.verify(encoded, PASSWORD.upper())
    assert not hasher.verify("not a hash", PASSWORD)
    assert not hasher.verify("", PASSWORD)
    assert isinstance(hasher, PasswordHasher)


def test_salts_differ() -> None:
    hasher = Argon2Hasher(memory_cost=256, time_cost=1)
    assert hasher.hash(PASSWORD) != hasher.hash(PASSWORD)


def test_long_passwords_are_not_truncated() -> None:
    hasher = Argon2Hasher(memory_cost=256, time_cost=1)
    long = "correct horse battery staple " * 7  # 203 characters
    encoded = hasher.hash(long)
    assert hasher.verify(encoded, long)
    # bcrypt would ignore everything after 72 bytes; Argon2 does not.
    assert not hasher.verify(encoded, long[:72])
    assert not hasher.verify(encoded, long[:-1])


def test_needs_rehash_when_the_parameters_change() -> None:
    old = Argon2Hasher(memory_cost=256, time_cost=1)
    new = Argon2Hasher(memory_cost=512, time_cost=2)
    encoded = old.hash(PASSWORD)
    assert not old.needs_rehash(encoded)
    assert new.needs_rehash(encoded)
    assert new.verify(encoded, PASSWORD)  # old hashes still verify
    assert new.needs_rehash("$2b$12$something-that-is-not-argon2")


class Counting:
    """A hasher wrapper that counts calls."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner, self.hashed, self.verified = inner, 0, 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return self.inner.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        self.verified += 1
        return self.inner.verify(encoded, password)

    def needs_rehash(self, encoded: str) -> bool:
        return self.inner.needs_rehash(encoded)


def test_dummy_verify_costs_one_verification_against_a_current_hash() -> None:
    counting = Counting(Argon2Hasher(memory_cost=256, time_cost=1))
    dummy_verify(counting, PASSWORD)
    dummy_verify(counting, "another")
    assert counting.verified == 2
    assert counting.hashed == 1  # the dummy hash is made once per hasher


def test_login_rehashes_a_password_stored_with_old_parameters(site: Site) -> None:
    old = Argon2Hasher(memory_cost=256, time_cost=1)
    with site.db.session():
        user = User(username="ann", password=old.hash(PASSWORD))
        user.save()
    site.auth.hasher = Argon2Hasher(memory_cost=512, time_cost=2)
    with TestClient(site.app) as client:
        page = client.get("/auth/login")
        response = client.post(
            "/auth/login",
            data={"username": "ann", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        )
        assert response.status_code == 303
    with site.db.session():
        stored = User.objects.get(username="ann").password
    assert stored.startswith("$argon2id$v=19$m=512,t=2,p=1$")
    assert site.auth.hasher.verify(stored, PASSWORD)


def test_a_wrong_password_does_not_rehash(site: Site) -> None:
    old = Argon2Hasher(memory_cost=256, time_cost=1)
    with site.db.session():
        User(username="ann", password=old.hash(PASSWORD)).save()
    site.auth.hasher = Argon2Hasher(memory_cost=512, time_cost=2)
    with site.db.session():
        assert site.auth.authenticate("ann", "wrong password") is None
        assert User.objects.get(username="ann").password.startswith("$argon2id$v=19$m=256,")
        assert site.auth.authenticate("ann", PASSWORD) is not None
    with site.db.session():
        assert User.objects.get(username="ann").password.startswith("$argon2id$v=19$m=512,")


@pytest.mark.parametrize("length", [1, 10, 200, 1000])
def test_set_and_check_password_of_any_length(sqlite_site: Site, length: int) -> None:
    raw = ("kettle-" * 200)[:length]
    user = User(username="ann")
    user.set_password(raw)
    assert user.check_password(raw)
    assert not user.check_password(raw + "x")
