"""No user enumeration: the same hashing work, status and body for every account state.

Measured by counting the hasher's calls, not by timing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from authsite import FAST_HASHER, PASSWORD, Site, csrf_from

from kettle.auth import PasswordHasher, User
from kettle.testing import TestClient


class Counting:
    """Wraps a hasher and counts verifications."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.verified = 0

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        self.verified += 1
        return self.inner.verify(encoded, password)

    def needs_rehash(self, encoded: str) -> bool:
        return self.inner.needs_rehash(encoded)


def without_tokens(html: str) -> str:
    html = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)
    return re.sub(r'nonce="[^"]+"', 'nonce=""', html)  # the CSP nonce: fresh per response


def no_account(site: Site) -> None:
    pass


def wrong_password(site: Site) -> None:
    site.user("ann", password="an entirely different one")


def inactive(site: Site) -> None:
    site.user("ann", is_active=False)  # the password is right, the account is off


def unusable_password(site: Site) -> None:
    with site.db.session():
        User.objects.create(username="ann", email="ann@example.org")


STATES: list[Callable[[Site], None]] = [no_account, wrong_password, inactive, unusable_password]


@pytest.fixture
def counting(site: Site) -> Counting:
    hasher = Counting(FAST_HASHER)
    site.auth.hasher = hasher
    return hasher


def login_attempt(site: Site, hasher: Counting) -> tuple[int, str, int]:
    with TestClient(site.app) as client:
        token = csrf_from(client.get("/auth/login").text)
        before = hasher.verified
        response = client.post(
            "/auth/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token}
        )
        return response.status_code, without_tokens(response.text), hasher.verified - before


def test_failed_logins_look_and_cost_the_same_whoever_the_account(
    site: Site, counting: Counting
) -> None:
    outcomes = []
    for state in STATES:
        with site.db.session():
            User.objects.all().delete()
        state(site)
        outcomes.append(login_attempt(site, counting))
    statuses, bodies, verifications = zip(*outcomes, strict=True)
    assert statuses == (422, 422, 422, 422)
    assert len(set(bodies)) == 1, "the page differs between account states"
    assert verifications == (1, 1, 1, 1)
    assert "Enter a correct username and password" in bodies[0]


def test_a_successful_login_costs_one_verification_too(site: Site, counting: Counting) -> None:
    site.user("ann")
    status, _, verifications = login_attempt(site, counting)
    assert (status, verifications) == (303, 1)


def test_password_reset_answers_the_same_for_every_address(site: Site, counting: Counting) -> None:
    site.user("ann")
    site.user("bob", is_active=False)
    outcomes = []
    with TestClient(site.app) as client:
        for address in ("ann@example.org", "nobody@example.org", "bob@example.org"):
            token = csrf_from(client.get("/auth/password/reset").text)
            before = counting.verified
            response = client.post(
                "/auth/password/reset", data={"email": address, "csrf_token": token}
            )
            body = without_tokens(response.text).replace(address, "ADDRESS")
            outcomes.append((response.status_code, body, counting.verified - before))
    statuses, bodies, verifications = zip(*outcomes, strict=True)
    assert statuses == (200, 200, 200)
    assert len(set(bodies)) == 1
    assert verifications == (0, 0, 0)
    assert [m.to for m in site.mail.outbox] == [["ann@example.org"]]


def test_password_reset_throttles_every_address_alike(site: Site, counting: Counting) -> None:
    site.user("ann")
    site.user("bob", is_active=False)
    outcomes = []
    addresses = ("ann@example.org", "nobody@example.org", "bob@example.org")
    for n, address in enumerate(addresses):
        # One client address per e-mail: only the limit per e-mail (3 an hour) comes into play.
        with TestClient(site.app, client=(f"192.0.2.{n + 1}", 1)) as client:
            statuses = []
            for _ in range(4):
                token = csrf_from(client.get("/auth/password/reset").text)
                response = client.post(
                    "/auth/password/reset", data={"email": address, "csrf_token": token}
                )
                statuses.append(response.status_code)
            body = without_tokens(response.text).replace(address, "ADDRESS")
            whole_hour = int(response.headers["retry-after"]) > 59 * 60
            outcomes.append((statuses, body, whole_hour))
    assert outcomes[0] == ([200, 200, 200, 429], outcomes[0][1], True)
    assert outcomes[0] == outcomes[1] == outcomes[2], "a throttled page differs by account"
    assert "Too many requests for a reset link. Try again in 60 minute(s)." in outcomes[0][1]
    assert counting.verified == 0
    assert [m.to for m in site.mail.outbox] == [["ann@example.org"]] * 3
