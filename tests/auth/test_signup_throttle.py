"""Sign-ups are throttled per client address, with the memory and the Redis store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site

from htmlforms import csrf_from
from kettle.auth import MemoryThrottleStore, RedisThrottleStore, ThrottleStore, User
from kettle.auth.throttling import SignupThrottle
from kettle.testing import TestClient

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "kettles-whistle-at-dawn"


def redis_store() -> RedisThrottleStore:
    return RedisThrottleStore(REDIS_URL, prefix=f"kettle-test:{uuid.uuid4().hex}:")


STORES: dict[str, Callable[[], ThrottleStore]] = {
    "memory": MemoryThrottleStore,
    "redis": redis_store,
}


@pytest.mark.parametrize("store_name", sorted(STORES))
def test_the_signup_throttle_counts_per_address(store_name: str) -> None:
    store = STORES[store_name]()
    throttle = SignupThrottle(store, max_per_address=2, window=60)

    async def scenario() -> None:
        assert await throttle.blocked("203.0.113.9") == 0
        assert await throttle.attempt("203.0.113.9") == 0
        assert await throttle.attempt("203.0.113.9") == 0
        wait = await throttle.blocked("203.0.113.9")
        assert 1 <= wait <= 60
        assert 1 <= await throttle.attempt("203.0.113.9") <= 60  # one at the same moment
        assert await throttle.blocked("198.51.100.7") == 0  # other addresses are free
        close = getattr(store, "aclose", None)
        if close is not None:
            await close()

    asyncio.run(scenario())


@pytest.fixture(params=sorted(STORES))
def limited(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Iterator[Site]:
    """The test site, three sign-ups an hour per address, on each engine and store."""
    store = STORES[request.param]()
    built = make_site(
        tmp_path, db_url, throttle_store=store, max_signups_per_address=3, signup=True
    )
    built.db.drop_all()
    built.db.create_all()
    yield built
    built.db.drop_all()
    built.db.dispose()


def sign_up(client: TestClient, username: str, password: str = PASSWORD) -> object:
    page = client.get("/auth/signup")
    form = {
        "username": username,
        "email": "",
        "password1": password,
        "password2": password,
        "csrf_token": csrf_from(page.text),
    }
    response = client.post("/auth/signup", data=form)
    client.cookies.clear()  # signed out again: the next sign-up starts afresh
    return response


def test_one_address_cannot_create_accounts_without_end(limited: Site) -> None:
    with TestClient(limited.app, client=("203.0.113.9", 40000)) as client:
        # A form sent back with errors is not counted.
        for _ in range(4):
            assert sign_up(client, "x", "short").status_code == 422  # type: ignore[attr-defined]
        for n in range(3):
            assert sign_up(client, f"reader{n}").status_code == 303  # type: ignore[attr-defined]
        refused = sign_up(client, "reader3")
        assert refused.status_code == 429  # type: ignore[attr-defined]
        wait = int(refused.headers["retry-after"])  # type: ignore[attr-defined]
        assert 3500 <= wait <= 3600
        html = refused.text  # type: ignore[attr-defined]
        assert "Too many accounts were created from your network." in html
        assert "Try again in 60 minute(s)." in html
        assert 'value="reader3"' in html  # the same form, filled in
        assert 'aria-describedby="form-error"' in html
    with TestClient(limited.app, client=("198.51.100.7", 40000)) as other:
        assert sign_up(other, "reader3").status_code == 303  # type: ignore[attr-defined]
    with limited.db.session():
        assert sorted(u.username for u in User.objects.all()) == [
            "reader0",
            "reader1",
            "reader2",
            "reader3",
        ]


def test_the_default_is_five_an_hour(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'default.sqlite3'}")
    assert site.auth.options.max_signups_per_address == 5
    assert site.auth.options.signup_throttle_window == 3600
    assert site.auth.signup_throttle.max_per_address == 5
    site.db.dispose()
