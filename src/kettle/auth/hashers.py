"""Password hashing: Argon2id with OWASP's parameters, behind a small protocol.

The defaults follow OWASP's Password Storage Cheat Sheet for Argon2id: 19 MiB of memory,
two iterations, one lane. A stored hash records its own parameters, so raising them later
is safe: old hashes still verify, and ``needs_rehash`` tells the login to upgrade them::

    hasher = Argon2Hasher()
    encoded = hasher.hash("correct horse battery staple")
    assert hasher.verify(encoded, "correct horse battery staple")

Passwords are never truncated: Argon2 takes input of any length.
"""

from __future__ import annotations

import secrets
from typing import Protocol, runtime_checkable

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

#: OWASP's Argon2id minimum: m=19456 KiB (19 MiB), t=2, p=1.
OWASP_MEMORY_COST = 19456
#: OWASP's minimum number of Argon2id passes over the memory (``t=2``); more passes make
#: every login, and every guess, slower.
OWASP_TIME_COST = 2
#: OWASP's Argon2id degree of parallelism (``p=1``): the threads one hash uses.
OWASP_PARALLELISM = 1


@runtime_checkable
class PasswordHasher(Protocol):
    """What ``kettle.auth`` needs from a hasher (wrap one to count or log calls)::

    class Counting:
        def __init__(self, inner): self.inner, self.verified = inner, 0
        def hash(self, password): return self.inner.hash(password)
        def verify(self, encoded, password):
            self.verified += 1
            return self.inner.verify(encoded, password)
        def needs_rehash(self, encoded): return self.inner.needs_rehash(encoded)
    """

    def hash(self, password: str) -> str:
        """A new salted hash of ``password``."""
        ...

    def verify(self, encoded: str, password: str) -> bool:
        """Whether ``password`` matches ``encoded``; False (never an error) for junk."""
        ...

    def needs_rehash(self, encoded: str) -> bool:
        """Whether ``encoded`` was made with other parameters than the current ones."""
        ...


class Argon2Hasher:
    """Argon2id through argon2-cffi; the keyword arguments default to OWASP's advice.

    ::

        Argon2Hasher()                          # m=19456 KiB, t=2, p=1
        Argon2Hasher(memory_cost=47104, time_cost=1)   # another OWASP-listed setting
    """

    def __init__(
        self,
        *,
        memory_cost: int = OWASP_MEMORY_COST,
        time_cost: int = OWASP_TIME_COST,
        parallelism: int = OWASP_PARALLELISM,
        hash_len: int = 32,
        salt_len: int = 16,
    ) -> None:
        self.memory_cost = memory_cost
        self.time_cost = time_cost
        self.parallelism = parallelism
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=hash_len,
            salt_len=salt_len,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        """``$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>``."""
        return self._hasher.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        """True when ``password`` matches; False for a mismatch or a malformed hash."""
        try:
            return self._hasher.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """True for hashes made with other parameters (or not by Argon2id at all)."""
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True

    def __repr__(self) -> str:
        return (
            f"Argon2Hasher(memory_cost={self.memory_cost}, time_cost={self.time_cost}, "
            f"parallelism={self.parallelism})"
        )


#: A hash per hasher (kept alive with it, so its id is not reused) that no password matches.
_DUMMIES: dict[int, tuple[PasswordHasher, str]] = {}


def _dummy_for(hasher: PasswordHasher) -> str:
    known = _DUMMIES.get(id(hasher))
    if known is None:
        if len(_DUMMIES) > 64:
            _DUMMIES.clear()
        known = _DUMMIES[id(hasher)] = (hasher, hasher.hash(secrets.token_urlsafe(16)))
    return known[1]


def dummy_verify(hasher: PasswordHasher, password: str) -> None:
    """Spend the work of one ``verify`` on a hash no password matches.

    Logins for unknown or inactive accounts call it, so they cost what a wrong password
    for a real account costs and timing tells nothing about which accounts exist::

        user = await User.objects.filter(username=name).afirst()
        if user is None:
            dummy_verify(hasher, password)
    """
    # PERF: the hash to verify against is made once per hasher, not per attempt.
    hasher.verify(_dummy_for(hasher), password)


__all__ = [
    "OWASP_MEMORY_COST",
    "OWASP_PARALLELISM",
    "OWASP_TIME_COST",
    "Argon2Hasher",
    "PasswordHasher",
    "dummy_verify",
]
