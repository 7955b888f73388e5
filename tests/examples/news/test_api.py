"""The JSON API: tokens, articles and comments (resources), the front page, votes and
profiles, with clear errors."""

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
    assert created.headers["location"] == f"/api/articles/{article['id']}"
    assert (article["author"]["username"], article["domain"], article["points"]) == (
        "ann",
        "example.com",
        0,
    )
    again = api.post("/api/articles", json={"title": "Dup", "url": "https://example.com/k"})
    assert again.status_code == 409
    assert f"as article {article['id']}" in again.json()["detail"]
    bad = api.post("/api/articles", json={"title": "T", "url": "mailto:ann@example.org"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "url"]
    assert bad.json()["errors"][0]["msg"].startswith("url: Enter a full http")
    both = api.post("/api/articles", json={"title": "T", "url": "https://a.example", "body": "b"})
    assert both.status_code == 422
    broken = api.post(
        "/api/articles", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    for sort in ("rank", "new"):
        listing = api.get(f"/api/front?sort={sort}").json()
        assert [a["title"] for a in listing["articles"]] == ["Kettles"]
        assert listing["articles"][0]["voted"] is False
    assert api.get("/api/front?sort=hot").status_code == 422
    assert api.get("/api/front?page=2").status_code == 404
    listing = api.get("/api/articles?author__username=ann&fields=id,title").json()
    assert listing["items"] == [{"id": article["id"], "title": "Kettles"}]
    assert api.get("/api/articles?author=ann").status_code == 400  # not a filter
    assert api.get("/api/articles?page=2").status_code == 404
    shown = api.get(f"/api/articles/{article['id']}")
    assert shown.json()["title"] == "Kettles"
    assert shown.headers["etag"]
    assert api.get(f"/api/articles/{article['id']}/comments").json()["comments"] == []
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


def test_votes_as_a_resource_are_ones_own(site: Site, api: Api) -> None:
    article = site.article(site.user("bob"))
    cast = api.post("/api/votes", json={"article_id": article.id})
    assert cast.status_code == 201, cast.text
    vote = cast.json()
    assert cast.headers["location"] == f"/api/votes/{vote['id']}"
    assert site.get(Article, article.id).points == 1
    assert api.post("/api/votes", json={"article_id": article.id}).status_code == 409
    assert api.post(f"/api/articles/{article.id}/vote").status_code == 409  # the same vote
    mine = api.get(f"/api/votes?article_id={article.id}").json()["items"]
    assert [v["id"] for v in mine] == [vote["id"]]
    bob = Api(site).login("bob")
    assert bob.get("/api/votes").json()["items"] == []
    assert bob.delete(f"/api/votes/{vote['id']}").status_code == 404  # not bob's
    assert api.delete(f"/api/votes/{vote['id']}").status_code == 204
    assert site.get(Article, article.id).points == 0
    assert api.post("/api/votes", json={"article_id": 999}).status_code == 422
    assert TestClient(site.app).get("/api/votes").status_code == 401


def test_comments_replies_and_their_votes(site: Site, api: Api) -> None:
    article = site.article(site.user("bob"))
    path = f"/api/articles/{article.id}/comments"
    new = {"article_id": article.id}
    top = api.post("/api/comments", json={**new, "body": "Top"})
    assert top.status_code == 201
    assert top.json()["author"]["username"] == "ann"
    reply = api.post("/api/comments", json={**new, "body": "Reply", "parent_id": top.json()["id"]})
    assert reply.status_code == 201
    assert reply.json()["parent_id"] == top.json()["id"]
    assert api.post("/api/comments", json={**new, "body": ""}).status_code == 422
    assert api.post("/api/comments", json={**new, "body": "x", "parent_id": 999}).status_code == 422
    assert api.post("/api/comments", json={**new, "text": "wrong field"}).status_code == 422
    assert api.post("/api/comments", json={"article_id": 999, "body": "x"}).status_code == 422
    flat = api.get(f"/api/comments?article_id={article.id}").json()["items"]
    assert [c["body"] for c in flat] == ["Top", "Reply"]
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
    response = api.post("/api/comments", json={"article_id": article.id, "body": "Hi"})
    assert response.status_code == 403
    assert "locked" in response.json()["detail"]
    assert api.post(f"/api/articles/{article.id}/vote").status_code == 403


def test_hidden_articles_are_404_in_the_api(site: Site, api: Api) -> None:
    article = site.article(site.user("bob"), hidden=True)
    assert api.get(f"/api/articles/{article.id}").status_code == 404
    assert api.get(f"/api/articles/{article.id}/comments").status_code == 404
    assert api.get("/api/front?sort=new").json()["articles"] == []
    assert api.get("/api/articles").json()["items"] == []


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
