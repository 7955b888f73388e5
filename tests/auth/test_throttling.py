"""Throttling of logins (per account and per address) and of password-reset requests (per
e-mail and per address), with the memory and the Redis store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authsite import PASSWORD, Site, csrf_from, make_site

from kettle.auth import MemoryThrottleStore, RedisThrottleStore, ThrottleStore
from kettle.auth.throttling import LoginThrottle, ResetThrottle
from kettle.testing import TestClient

REDIS_URL = "redis://127.0.0.1:6379/0"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def redis_store() -> RedisThrottleStore:
    return RedisThrottleStore(REDIS_URL, prefix=f"kettle-test:{uuid.uuid4().hex}:")


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_the_memory_store_counts_within_a_window() -> None:
    clock = Clock()
    store = MemoryThrottleStore(clock=clock)

    async def scenario() -> None:
        assert await store.get("k") == (0, 0)
        assert [await store.hit("k", 60) for _ in range(3)] == [1, 2, 3]
        clock.now += 45
        assert await store.get("k") == (3, 15)
        assert await store.hit("k", 60) == 4  # the window does not move
        clock.now += 15
        assert await store.get("k") == (0, 0)  # ended
        assert await store.hit("k", 60) == 1
        await store.reset("k")
        assert await store.get("k") == (0, 0)

    run(scenario())


def test_the_redis_store_counts_with_a_ttl() -> None:
    store = redis_store()

    async def scenario() -> None:
        assert await store.get("k") == (0, 0)
        assert [await store.hit("k", 60) for _ in range(3)] == [1, 2, 3]
        count, retry_after = await store.get("k")
        assert count == 3
        assert 58 <= retry_after <= 60
        await store.reset("k")
        assert await store.get("k") == (0, 0)
        assert await store.hit("short", 1) == 1
        await asyncio.sleep(1.2)
        assert await store.get("short") == (0, 0)
        await store.aclose()

    run(scenario())


@pytest.mark.parametrize("make_store", [MemoryThrottleStore, redis_store], ids=["memory", "redis"])
def test_the_limits_per_account_and_per_address(make_store: type[ThrottleStore]) -> None:
    store = make_store()
    throttle = LoginThrottle(store, max_per_account=3, max_per_address=5, window=60)

    async def scenario() -> None:
        for _ in range(3):
            assert await throttle.blocked("ann", "192.0.2.1") == 0
            await throttle.failed("ann", "192.0.2.1")
        assert 0 < await throttle.blocked("ann", "192.0.2.1") <= 60
        assert 0 < await throttle.blocked(" ANN ", "198.51.100.7") <= 60  # same account
        assert await throttle.blocked("bob", "192.0.2.1") == 0  # the address has 3 of 5
        await throttle.failed("bob", "192.0.2.1")
        await throttle.failed("cat", "192.0.2.1")
        assert await throttle.blocked("dan", "192.0.2.1") > 0  # the address is used up
        assert await throttle.blocked("dan", "192.0.2.2") == 0
        await throttle.succeeded("bob", "192.0.2.2")
        await throttle.succeeded("ann", "192.0.2.2")
        assert await throttle.blocked("ann", "198.51.100.7") == 0
        close = getattr(store, "aclose", None)
        if close is not None:
            await close()

    run(scenario())


@pytest.fixture(params=["memory", "redis"])
def throttled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """A site (SQLite) with a throttle store of each kind and small limits."""
    site = make_site(
        tmp_path,
        f"sqlite:///{tmp_path / 'throttle.sqlite3'}",
        throttle_store=redis_store() if request.param == "redis" else None,
        max_failures_per_account=5,
        max_failures_per_address=8,
    )
    site.db.create_all()
    site.user("ann")
    yield site
    site.db.dispose()


def attempt(client: TestClient, username: str, password: str) -> object:
    token = csrf_from(client.get("/auth/login").text)
    return client.post(
        "/auth/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_five_failures_lock_the_account_with_429(throttled: Site) -> None:
    with TestClient(throttled.app) as client:
        for _ in range(5):
            assert attempt(client, "ann", "wrong password").status_code == 422
        locked = attempt(client, "ann", PASSWORD)  # even the right password now
        assert locked.status_code == 429
        assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
        assert "Too many failed attempts" in locked.text
    with TestClient(throttled.app, client=("198.51.100.7", 1)) as elsewhere:
        assert attempt(elsewhere, "ann", PASSWORD).status_code == 429


def test_failures_from_one_address_across_accounts_are_limited(throttled: Site) -> None:
    with TestClient(throttled.app) as client:
        for n in range(8):
            assert attempt(client, f"user{n}", "wrong password").status_code == 422
        assert attempt(client, "ann", PASSWORD).status_code == 429
    with TestClient(throttled.app, client=("198.51.100.7", 1)) as elsewhere:
        assert attempt(elsewhere, "ann", PASSWORD).status_code == 303


def test_a_successful_login_clears_the_accounts_failures(throttled: Site) -> None:
    with TestClient(throttled.app) as client:
        for _ in range(4):
            attempt(client, "ann", "wrong password")
        assert attempt(client, "ann", PASSWORD).status_code == 303
        client.cookies.clear()
        for _ in range(3):  # 4 + 3 failures from this address: under its limit of 8
            assert attempt(client, "ann", "wrong password").status_code == 422
        assert attempt(client, "ann", PASSWORD).status_code == 303  # the account's 4 are gone


# --- password-reset requests -----------------------------------------------------------------
@pytest.mark.parametrize("make_store", [MemoryThrottleStore, redis_store], ids=["memory", "redis"])
def test_the_reset_limits_per_email_and_per_address(make_store: type[ThrottleStore]) -> None:
    store = make_store()
    throttle = ResetThrottle(store, max_per_email=2, max_per_address=4, window=60)

    async def scenario() -> None:
        assert await throttle.attempt("ann@example.org", "192.0.2.1") == 0
        assert await throttle.attempt(" ANN@example.ORG ", "198.51.100.7") == 0  # same inbox
        assert 0 < await throttle.attempt("ann@example.org", "203.0.113.5") <= 60
        assert await throttle.attempt("bob@example.org", "192.0.2.1") == 0
        assert await throttle.attempt("cat@example.org", "192.0.2.1") == 0
        # The refused request for ann counted against nothing: 192.0.2.1 has 3 of 4.
        assert await throttle.attempt("dan@example.org", "192.0.2.1") == 0
        assert 0 < await throttle.attempt("eve@example.org", "192.0.2.1") <= 60
        assert await throttle.attempt("eve@example.org", "192.0.2.2") == 0
        # The login's counters are others: a locked login leaves resets alone.
        login = LoginThrottle(store, max_per_account=1, max_per_address=1, window=60)
        await login.failed("fay@example.org", "192.0.2.3")
        assert await throttle.attempt("fay@example.org", "192.0.2.3") == 0
        close = getattr(store, "aclose", None)
        if close is not None:
            await close()

    run(scenario())


def ask_for_a_link(client: TestClient, email: str) -> Any:
    token = csrf_from(client.get("/auth/password/reset").text)
    return client.post("/auth/password/reset", data={"email": email, "csrf_token": token})


def test_three_links_an_hour_per_email_then_429_in_the_form(throttled: Site) -> None:
    with TestClient(throttled.app) as client:
        for _ in range(3):
            assert ask_for_a_link(client, "ann@example.org").status_code == 200
        refused = ask_for_a_link(client, "ANN@example.org")
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 60 * 60
        assert (
            '<div class="alert" role="alert" id="form-error">Too many requests for a reset '
            "link. Try again in 60 minute(s).</div>"
        ) in refused.text
        assert 'value="ANN@example.org"' in refused.text  # the form, filled in again
    assert len(throttled.mail.outbox) == 3
    with TestClient(throttled.app, client=("198.51.100.7", 1)) as elsewhere:
        assert ask_for_a_link(elsewhere, "ann@example.org").status_code == 429
        assert ask_for_a_link(elsewhere, "bob@example.org").status_code == 200
    assert len(throttled.mail.outbox) == 3


def test_ten_requests_an_hour_per_address_whatever_the_emails(throttled: Site) -> None:
    with TestClient(throttled.app) as client:
        for n in range(10):
            assert ask_for_a_link(client, f"user{n}@example.org").status_code == 200
        refused = ask_for_a_link(client, "ann@example.org")
        assert refused.status_code == 429
        assert "Too many requests for a reset link." in refused.text
    assert throttled.mail.outbox == []
    with TestClient(throttled.app, client=("198.51.100.7", 1)) as elsewhere:
        assert ask_for_a_link(elsewhere, "ann@example.org").status_code == 200
    assert [m.to for m in throttled.mail.outbox] == [["ann@example.org"]]


def test_a_blank_email_is_refused_and_not_counted(throttled: Site) -> None:
    throttled.user("noemail", email="")
    with TestClient(throttled.app) as client:
        for _ in range(12):
            assert ask_for_a_link(client, "  ").status_code == 422
        assert throttled.mail.outbox == []  # not a link for every account with no e-mail
        assert ask_for_a_link(client, "ann@example.org").status_code == 200


def test_the_reset_limits_are_options(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        f"sqlite:///{tmp_path / 'options.sqlite3'}",
        max_resets_per_email=1,
        max_resets_per_address=2,
        reset_throttle_window=120,
    )
    site.db.create_all()
    with TestClient(site.app) as client:
        assert ask_for_a_link(client, "ann@example.org").status_code == 200
        refused = ask_for_a_link(client, "ann@example.org")
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 120
        assert "Try again in 2 minute(s)." in refused.text
        assert ask_for_a_link(client, "bob@example.org").status_code == 200
        assert ask_for_a_link(client, "cat@example.org").status_code == 429
    site.db.dispose()
