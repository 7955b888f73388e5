"""The JSON API: tokens, articles, votes, comments and profiles, with clear errors."""

from __future__ import annotations

from typing import Any

import pytest
from news.models import Article, Comment
from newssite import PASSWORD, Site

from kettle.testing import TestClient


class Api:
    """A client of the API, with a bearer token once ``login`` ran."""

    def __init__(self, site: Site) -> None:
        self.client = TestClient(site.app)
        self.headers: dict[str, str] = {}

    def login(self, username: str) -> Api:
        response = self.client.post(
            "/api/tokens", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        assert response.json()["token"].startswith("kt_")
        self.headers = {"authorization": f"Bearer {response.json()['token']}"}
        return self

    def __getattr__(self, method: str) -> Any:
        def send(path: str, **kwargs: Any) -> Any:
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return getattr(self.client, method)(path, headers=headers, **kwargs)

        return send


@pytest.fixture
def api(site: Site) -> Api:
    site.user("ann")
    return Api(site).login("ann")


def test_tokens_need_the_right_password_and_are_throttled(site: Site) -> None:
    site.user("ann")
    client = TestClient(site.app)
    wrong = client.post("/api/tokens", json={"username": "ann", "password": "nope"})
    assert wrong.status_code == 401
    assert "Wrong username or password" in wrong.json()["detail"]
    assert client.post("/api/tokens", json={"username": "ann"}).status_code == 422
    for _ in range(4):
        client.post("/api/tokens", json={"username": "ann", "password": "nope"})
    blocked = client.post("/api/tokens", json={"username": "ann", "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


def test_writing_without_a_token_is_401_and_a_bad_token_too(site: Site) -> None:
    client = TestClient(site.app)
    response = client.post("/api/articles", json={"title": "T", "url": "https://example.com"})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]
    bad = client.get("/api/articles", headers={"authorization": "Bearer kt_forged"})
    assert bad.status_code == 401


def test_submit_list_and_show_articles(site: Site, api: Api) -> None:
    created = api.post("/api/articles", json={"title": "Kettles", "url": "https://example.com/k"})
    assert created.status_code == 201
    article = created.json()
    assert (article["author"], article["domain"], article["points"]) == ("ann", "example.com", 0)
    again = api.post("/api/articles", json={"title": "Dup", "url": "https://example.com/k"})
    assert again.status_code == 409
    assert f"as article {article['id']}" in again.json()["detail"]
    bad = api.post("/api/articles", json={"title": "T", "url": "mailto:ann@example.org"})
    assert bad.status_code == 422
    assert "url:" in bad.json()["detail"]
    both = api.post("/api/articles", json={"title": "T", "url": "https://a.example", "body": "b"})
    assert both.status_code == 422
    broken = api.post(
        "/api/articles", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    for sort in ("rank", "new"):
        listing = api.get(f"/api/articles?sort={sort}").json()
        assert [a["title"] for a in listing["articles"]] == ["Kettles"]
        assert listing["articles"][0]["voted"] is False
    assert api.get("/api/articles?sort=hot").status_code == 422
    assert api.get("/api/articles?page=2").status_code == 404
    shown = api.get(f"/api/articles/{article['id']}").json()
    assert (shown["title"], shown["comments"]) == ("Kettles", [])
    assert api.get("/api/articles/999").status_code == 404


def test_votes_with_409_for_twice_and_undo_with_delete(site: Site, api: Api) -> None:
    article = site.article(site.user("bob"))
    path = f"/api/articles/{article.id}/vote"
    assert api.post(path).json() == {"points": 1, "voted": True}
    twice = api.post(path)
    assert twice.status_code == 409
    assert "already voted" in twice.json()["detail"]
    assert api.delete(path).json() == {"points": 0, "voted": False}
    assert api.delete(path).status_code == 409
    assert api.post("/api/articles/999/vote").status_code == 404
    assert TestClient(site.app).post(path).status_code == 401


def test_comments_replies_and_their_votes(site: Site, api: Api) -> None:
    article = site.article(site.user("bob"))
    path = f"/api/articles/{article.id}/comments"
    top = api.post(path, json={"body": "Top"})
    assert top.status_code == 201
    reply = api.post(path, json={"body": "Reply", "parent": top.json()["id"]})
    assert reply.status_code == 201
    assert reply.json()["parent"] == top.json()["id"]
    assert api.post(path, json={"body": ""}).status_code == 422
    assert api.post(path, json={"body": "x", "parent": 999}).status_code == 422
    assert api.post(path, json={"text": "wrong field"}).status_code == 422
    tree = api.get(path).json()["comments"]
    assert [c["body"] for c in tree] == ["Top"]
    assert [r["body"] for r in tree[0]["replies"]] == ["Reply"]
    comment_vote = f"/api/comments/{top.json()['id']}/vote"
    assert api.post(comment_vote).json() == {"points": 1, "voted": True}
    assert api.post(comment_vote).status_code == 409
    assert api.delete(comment_vote).json() == {"points": 0, "voted": False}
    assert site.get(Article, article.id).comment_count == 2
    with site.db.session():
        assert Comment.objects.count() == 2


def test_locked_articles_refuse_comments_and_votes_with_403(site: Site, api: Api) -> None:
    article = site.article(site.user("bob"), locked=True)
    response = api.post(f"/api/articles/{article.id}/comments", json={"body": "Hi"})
    assert response.status_code == 403
    assert "locked" in response.json()["detail"]
    assert api.post(f"/api/articles/{article.id}/vote").status_code == 403


def test_hidden_articles_are_404_in_the_api(site: Site, api: Api) -> None:
    article = site.article(site.user("bob"), hidden=True)
    assert api.get(f"/api/articles/{article.id}").status_code == 404
    assert api.get(f"/api/articles/{article.id}/comments").status_code == 404
    assert api.get("/api/articles?sort=new").json()["articles"] == []


def test_a_user_profile_lists_articles_and_comments(site: Site, api: Api) -> None:
    bob = site.user("bob")
    article = site.article(bob, "Bob's story")
    site.comment(article, bob, "Bob says hi")
    profile = api.get("/api/users/bob").json()
    assert profile["username"] == "bob"
    assert [a["title"] for a in profile["articles"]] == ["Bob's story"]
    assert [c["body"] for c in profile["comments"]] == ["Bob says hi"]
    assert api.get("/api/users/nobody").status_code == 404
    assert api.get("/api/users/bob?page=2").status_code == 404
