"""kettle.auth.rate_limit: rates, keys, scopes and stores, on def and async handlers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site

from kettle import Request
from kettle.auth import (
    MemoryThrottleStore,
    Rate,
    RateLimit,
    RedisThrottleStore,
    ThrottleStore,
    login_required,
    rate_limit,
)
from kettle.testing import TestClient

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_rates_read_their_text_form() -> None:
    assert Rate.parse("5/minute") == Rate(5, 60)
    assert Rate.parse("100/hour") == Rate(100, 3600)
    assert Rate.parse("3/10minutes") == Rate(3, 600)
    assert Rate.parse("1 / 2 days") == Rate(1, 172800)
    assert Rate.parse("10/s") == Rate(10, 1)
    assert str(Rate(3, 600)) == "3 per 10 minutes"
    assert str(Rate(5, 60)) == "5 per minute"
    for bad in ("5", "five/minute", "5/fortnight", "5/0minutes", ""):
        with pytest.raises(ValueError, match="is not a rate: write '<count>/<period>'"):
            Rate.parse(bad)


def redis_store() -> RedisThrottleStore:
    return RedisThrottleStore(REDIS_URL, prefix=f"kettle-test:{uuid.uuid4().hex}:")


@pytest.fixture(params=["memory", "redis"])
def limited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """A site with limited routes, its counters in memory or in Redis."""
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'auth.sqlite3'}")
    if request.param == "redis":
        store: ThrottleStore = redis_store()
        site.auth.throttle.store = store
    app = site.app

    @app.post("/comments")
    @rate_limit("2/minute")
    def comment(request: Request) -> dict[str, bool]:
        return {"saved": True}

    @app.get("/search")
    @rate_limit("3/hour")
    async def search(q: str = "") -> dict[str, str]:
        return {"q": q}

    shared = rate_limit("2/minute", scope="votes")

    @app.post("/articles/<int:id>/vote")
    @login_required
    @shared
    async def vote(id: int) -> dict[str, int]:
        return {"voted": id}

    @app.post("/comments/<int:id>/vote")
    @login_required
    @shared
    def vote_comment(id: int) -> dict[str, int]:
        return {"voted": id}

    @app.route("/form", ["GET", "POST"])
    @rate_limit("1/minute", methods=["POST"], key=lambda r: r.headers.get("x-user"))
    def form(request: Request) -> str:
        return request.method

    site.db.create_all()
    yield site
    site.db.dispose()


def test_over_the_limit_is_a_429_with_retry_after(limited: Site) -> None:
    client = TestClient(limited.app)
    assert client.get("/search?q=tea").json() == {"q": "tea"}
    assert [client.get("/search").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/search")
    assert refused.status_code == 429
    assert 3500 < int(refused.headers["retry-after"]) <= 3600
    assert refused.json()["detail"] == (
        f"Too many requests: GET /search allows 3 per hour. Try again in "
        f"{refused.headers['retry-after']} second(s)."
    )


def test_def_handlers_are_limited_and_still_run_in_the_pool(limited: Site) -> None:
    other = TestClient(limited.app, client=("10.0.0.9", 5000))
    assert [other.post("/comments").status_code for _ in range(3)] == [200, 200, 429]
    # Another address has its own counter.
    assert TestClient(limited.app, client=("10.0.0.10", 5000)).post("/comments").status_code == 200


def test_signed_in_users_are_counted_per_user_and_scopes_are_shared(limited: Site) -> None:
    from kettle.auth import ApiToken, User

    limited.user("ann")
    limited.user("bob")
    with limited.db.session():
        _, ann = ApiToken.issue(User.objects.get(username="ann"), "t")
        _, bob = ApiToken.issue(User.objects.get(username="bob"), "t")
    client = TestClient(limited.app)
    as_ann = {"authorization": f"Bearer {ann}"}
    assert client.post("/articles/1/vote", headers=as_ann).status_code == 200
    assert client.post("/comments/1/vote", headers=as_ann).status_code == 200
    assert client.post("/articles/2/vote", headers=as_ann).status_code == 429  # one budget
    assert client.post("/articles/1/vote", headers={"authorization": f"Bearer {bob}"}).json() == {
        "voted": 1
    }
    assert client.post("/articles/1/vote").status_code == 401  # the guard comes first


def test_methods_and_key_choose_what_counts(limited: Site) -> None:
    client = TestClient(limited.app)
    assert [client.get("/form").text for _ in range(3)] == ["GET"] * 3
    assert client.post("/form", headers={"x-user": "a"}).status_code == 200
    assert client.post("/form", headers={"x-user": "a"}).status_code == 429
    assert client.post("/form", headers={"x-user": "b"}).status_code == 200
    assert [client.post("/form").status_code for _ in range(3)] == [200] * 3  # None: exempt


def test_a_rate_may_come_from_the_settings_and_a_store_be_given(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'auth.sqlite3'}")
    store = MemoryThrottleStore()
    limit = RateLimit(lambda request: request.headers.get("x-rate", "1/minute"), store=store)

    @site.app.get("/ping")
    @limit
    def ping() -> str:
        return "pong"

    client = TestClient(site.app)
    assert [client.get("/ping", headers={"x-rate": "2/minute"}).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert store._counts  # the counters went to the given store


def test_a_limit_works_as_a_hook_on_a_group(tmp_path: Path) -> None:
    from kettle import Group

    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'auth.sqlite3'}")
    api = Group("api", prefix="/api")
    api.before_request(rate_limit("1/minute").hook)

    @api.get("/a")
    def a() -> str:
        return "a"

    @api.get("/b")
    def b() -> str:
        return "b"

    site.app.include(api)
    client = TestClient(site.app)
    assert [client.get("/api/a").status_code for _ in range(2)] == [200, 429]
    assert client.get("/api/b").status_code == 200  # one counter per route
