"""The news site on kettle.cache: the rankings kept in the cache (Redis shared by two
apps, as by two workers), moderation clearing them, and the lists served from the page
cache to signed-out readers, never to signed-in ones."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from news import ranking
from news.models import Article
from news.roles import EDITOR
from newssite import PASSWORD, Site, make_site

from htmlforms import csrf_from
from kettle import RedirectResponse, Request, flash
from kettle.cache import Cache
from kettle.testing import assert_num_queries

REDIS = "redis://127.0.0.1:6379/0"
#: Signed-out readers get the lists from the page cache; the ranking is kept a minute.
CACHED = {"news_page_cache_seconds": 60, "news_rank_cache_seconds": 60}


@pytest.fixture
def cached_site(db_url: str) -> Iterator[Site]:
    """The news site on each engine with both caches on (in this process's memory)."""
    built = make_site(db_url, **CACHED)
    yield built
    built.close()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own in the machine's Redis, cleared afterwards."""
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS}: {error}")
    name = f"test-news-{uuid.uuid4().hex[:12]}"
    yield name
    Cache(url=REDIS, prefix=name).clear()


def titles(html: str) -> list[str]:
    return re.findall(r'rel="noopener nofollow ugc">([^<]+)</a>', html)


def counting_candidates(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the front page's rankings: each one reads its candidates once."""
    calls: list[int] = []
    real = ranking.candidates

    def candidates(window: int) -> Any:
        calls.append(window)
        return real(window)

    monkeypatch.setattr(ranking, "candidates", candidates)
    return calls


def hide(site: Site, article: Article, editor: str = "ed") -> None:
    """Hide ``article`` as an editor does, on the article's page."""
    client = site.client(editor)
    page = client.get(f"/articles/{article.id}")
    form = {"action": "hide", "csrf_token": csrf_from(page.text)}
    assert client.post(f"/articles/{article.id}/moderate", data=form).status_code == 303


def test_two_apps_sharing_redis_rank_once_per_ttl_and_moderation_clears_it(
    db_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "cache_url": REDIS,
        "news_cache_prefix": prefix,
        "news_rank_cache_seconds": 60,
        "news_page_cache_seconds": 0,  # every page renders: the ranking is what is kept
    }
    one = make_site(db_url, **settings)
    two = make_site(db_url, **settings)  # a second worker on the same database and Redis
    try:
        ann = one.user("ann")
        one.user("ed", role=EDITOR)
        first = one.article(ann, "First", age_hours=1, points=5)
        one.article(ann, "Second", age_hours=2, points=1)
        ranked = counting_candidates(monkeypatch)
        assert titles(one.client().get("/").text) == ["First", "Second"]
        assert titles(two.client().get("/").text) == ["First", "Second"]
        assert titles(one.client().get("/").text) == ["First", "Second"]
        assert len(ranked) == 1  # one ranking for both apps
        key = f"{prefix}:cache:rankings:1:front"
        assert 0 < redis.Redis.from_url(REDIS).ttl(key) <= 60  # news_rank_cache_seconds

        one.article(ann, "Third", age_hours=0, points=50)
        assert titles(two.client().get("/").text) == ["First", "Second"]  # the kept order
        hide(one, first)  # moderation in one app clears the ranking for both
        assert titles(two.client().get("/").text) == ["Third", "Second"]
        assert len(ranked) == 2
    finally:
        two.db.dispose()
        one.close()


def test_a_ranking_cache_of_zero_seconds_ranks_on_every_request(
    sqlite_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = sqlite_site.user("ann")
    sqlite_site.article(ann, "First")
    ranked = counting_candidates(monkeypatch)
    for _ in range(3):
        assert titles(sqlite_site.client().get("/").text) == ["First"]
    assert len(ranked) == 3  # news_rank_cache_seconds=0, as the Django comparison runs


def test_signed_out_readers_get_the_lists_from_the_page_cache(cached_site: Site) -> None:
    ann = cached_site.user("ann")
    cached_site.article(ann, "First", points=3)
    reader = cached_site.client()
    for path in ("/", "/new", "/top"):
        page = reader.get(path)
        assert page.status_code == 200
        assert "set-cookie" not in page.headers  # no session for a reader who only reads
        assert "csrf" not in page.text  # no form, no token: the same page for everybody
        with assert_num_queries(0):
            again = cached_site.client().get(path)  # another reader
        assert again.text == page.text
        assert again.headers["etag"] == page.headers["etag"]
        unchanged = reader.get(path, headers={"If-None-Match": page.headers["etag"]})
        assert unchanged.status_code == 304
        assert unchanged.content == b""


def test_the_signed_in_reader_never_gets_the_cached_page(cached_site: Site) -> None:
    ann = cached_site.user("ann")
    story = cached_site.article(ann, "First", points=0)
    anonymous = cached_site.client().get("/")
    assert 'class="vote-button"' in anonymous.text
    assert "data-vote" not in anonymous.text

    reader = cached_site.client("ann")
    voted = cached_site.post(reader, f"/articles/{story.id}/vote", {"next": "/"})
    assert voted.status_code == 303
    page = reader.get("/")
    assert 'class="vote-button voted" aria-pressed="true"' in page.text  # their vote state
    assert "data-points>1<" in page.text
    assert "data-vote" in page.text
    assert "etag" not in page.headers
    fresh = reader.get("/", headers={"If-None-Match": anonymous.headers["etag"]})
    assert fresh.status_code == 200
    assert "Sign out" in fresh.text
    # The signed-out page stays the cached one (its count catches up within the TTL).
    assert cached_site.client().get("/").text == anonymous.text


def test_moderation_clears_the_cached_lists(cached_site: Site) -> None:
    ann = cached_site.user("ann")
    cached_site.user("ed", role=EDITOR)
    cached_site.user("boss", role="admin")
    first = cached_site.article(ann, "First", age_hours=1, points=5)
    second = cached_site.article(ann, "Second", age_hours=2, points=1)
    reader = cached_site.client()
    assert titles(reader.get("/").text) == ["First", "Second"]
    assert titles(reader.get("/new").text) == ["First", "Second"]

    hide(cached_site, first)  # on the site
    assert titles(reader.get("/").text) == ["Second"]
    assert titles(reader.get("/new").text) == ["Second"]

    boss = cached_site.client("boss")
    page = boss.get("/admin/article/")
    form = {"action": "hide", "_selected": [str(second.id)], "csrf_token": csrf_from(page.text)}
    assert boss.post("/admin/article/", data=form).status_code == 303  # in the admin
    assert titles(reader.get("/").text) == []


def test_a_flashed_message_is_neither_cached_nor_served_to_others(cached_site: Site) -> None:
    @cached_site.app.get("/flash-me")
    def flash_me(request: Request) -> RedirectResponse:
        flash(request, "Kettle boiled.", "info")
        return RedirectResponse("/", 303)

    cached_site.article(cached_site.user("ann"), "First")
    cached = cached_site.client().get("/")  # the page every signed-out reader gets
    reader = cached_site.client()
    assert reader.get("/flash-me").status_code == 303  # the message waits in its cookie
    assert reader.cookies["session"].startswith("anon.")
    shown = reader.get("/")
    assert "Kettle boiled." in shown.text  # not the cached page
    assert "Kettle boiled." not in reader.get("/").text  # shown once
    assert cached_site.client().get("/").text == cached.text  # nobody else sees it


def test_the_vote_link_leads_to_sign_in_and_back(cached_site: Site) -> None:
    ann = cached_site.user("ann")
    cached_site.article(ann, "First")
    many = [cached_site.article(ann, f"Story {n}", age_hours=n + 1) for n in range(30)]
    reader = cached_site.client()
    second_page = reader.get("/?page=2").text
    [link] = re.findall(r'<a class="vote-button" href="([^"]+)"', second_page)
    assert link == "/auth/login?next=/%3Fpage%3D2"
    login = reader.get(link)
    assert login.status_code == 200
    assert '<input type="hidden" name="next" value="/?page=2">' in login.text
    form = {"username": "ann", "password": PASSWORD, "next": "/?page=2"}
    signed_in = reader.post("/auth/login", data={**form, "csrf_token": csrf_from(login.text)})
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/?page=2"
    back = reader.get("/?page=2")
    assert "data-vote" in back.text
    assert f"/articles/{many[-1].id}/vote" in back.text
