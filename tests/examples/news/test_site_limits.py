"""The site's rate limits (from its settings) on pages and the API, shared per action."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from news.models import Article, Comment
from newssite import PASSWORD, Site, make_site

from kettle.testing import TestClient


@pytest.fixture
def strict(db_url: str) -> Iterator[Site]:
    """The site with tight limits: 2 articles, 2 comments and 3 votes a minute."""
    built = make_site(
        db_url,
        news_article_rate="2/minute",
        news_comment_rate="2/minute",
        news_vote_rate="3/minute",
        news_token_rate="2/hour",
    )
    yield built
    built.close()


def test_submitting_too_often_is_a_429_page_with_retry_after(strict: Site) -> None:
    strict.user("ann")
    client = strict.client("ann")
    for n in range(2):
        response = strict.post(client, "/submit", {"title": f"T{n}", "url": f"https://e.com/{n}"})
        assert response.status_code == 303
    assert client.get("/submit").status_code == 200  # only posting counts
    refused = strict.post(client, "/submit", {"title": "T3", "url": "https://e.com/3"})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert "Too many requests" in refused.text
    assert "2 per minute" in refused.text
    assert "<title>Too Many Requests" in refused.text  # the site's error page
    with strict.db.session():
        assert Article.objects.count() == 2


def test_pages_and_the_api_share_one_budget_per_user(strict: Site) -> None:
    ann = strict.user("ann")
    strict.user("bob")
    article = strict.article(ann)
    page = strict.client("ann")
    assert strict.post(page, f"/articles/{article.id}/comments", {"body": "one"}).status_code == 303
    token = TestClient(strict.app).post(
        "/api/tokens", json={"username": "ann", "password": PASSWORD}
    )
    bearer = {"authorization": f"Bearer {token.json()['token']}"}
    api = TestClient(strict.app)
    new = {"article_id": article.id}
    assert api.post("/api/comments", json={**new, "body": "two"}, headers=bearer).status_code == 201
    refused = api.post("/api/comments", json={**new, "body": "three"}, headers=bearer)
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert "Too many requests" in refused.json()["detail"]
    # Another user has a budget of their own.
    bob = strict.client("bob")
    assert strict.post(bob, f"/articles/{article.id}/comments", {"body": "bob"}).status_code == 303
    with strict.db.session():
        assert Comment.objects.count() == 3


def test_votes_are_limited_too(strict: Site) -> None:
    ann = strict.user("ann")
    strict.user("bob")
    article = strict.article(ann)
    bob = strict.client("bob")
    json = {"accept": "application/json"}
    statuses = [
        strict.post(bob, f"/articles/{article.id}/vote", headers=json).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
