"""Ids and numbers no row can have are a 404 or a 422 that names the field, never a 500."""

from __future__ import annotations

import pytest
from news.models import Article, Comment
from newssite import PASSWORD, Site

from kettle.testing import TestClient

HUGE = "9" * 20  # beyond 64 bits
LARGE = str(2**63)  # one past BIGINT


@pytest.mark.parametrize("number", [HUGE, LARGE])
def test_ids_beyond_the_columns_are_404s(site: Site, number: str) -> None:
    ann = site.user("ann")
    article = site.article(ann)
    comment = site.comment(article, ann)
    client = site.client("ann")
    assert client.get(f"/articles/{number}").status_code == 404
    assert client.get(f"/api/articles/{number}").status_code == 404
    assert client.get(f"/api/articles/{number}/comments").status_code == 404
    assert client.get(f"/comments/{number}/edit").status_code == 404
    assert site.post(client, f"/comments/{number}/edit", {"body": "x"}).status_code == 404
    assert site.post(client, f"/comments/{number}/delete").status_code == 404
    assert site.post(client, f"/articles/{number}/vote").status_code == 404
    assert site.post(client, f"/comments/{number}/vote").status_code == 404
    assert site.post(client, f"/articles/{number}/comments", {"body": "x"}).status_code == 404
    # The real rows are still there and still found.
    assert client.get(f"/articles/{article.id}").status_code == 200
    assert client.get(f"/comments/{comment.id}/edit").status_code == 200


@pytest.mark.parametrize("parent", ["²", "٣", "1_0", HUGE, LARGE, "-1"])
def test_a_parent_that_is_no_comment_id_is_a_422_naming_the_field(site: Site, parent: str) -> None:
    ann = site.user("ann")
    article = site.article(ann)
    client = site.client("ann")
    response = site.post(
        client, f"/articles/{article.id}/comments", {"body": "Hi", "parent": parent}
    )
    assert response.status_code == 422
    assert "The parent field must be the id of a comment" in response.text
    assert site.get(Article, article.id).comment_count == 0


@pytest.mark.parametrize("parent", [10**20, 2**63, 2**64, -(2**63) - 1, 2**31])
def test_the_api_refuses_a_parent_no_row_can_have(site: Site, parent: int) -> None:
    ann = site.user("ann")
    article = site.article(ann)
    client = TestClient(site.app)
    token = client.post("/api/tokens", json={"username": "ann", "password": PASSWORD})
    headers = {"authorization": f"Bearer {token.json()['token']}"}
    response = client.post(
        "/api/comments",
        content=f'{{"article_id": {article.id}, "body": "Hi", "parent_id": {parent}}}',
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "parent_id"]
    with site.db.session():
        assert Comment.objects.count() == 0


@pytest.mark.parametrize("page", [HUGE, "²", "٣"])
def test_pages_beyond_any_row_are_404s(site: Site, page: str) -> None:
    ann = site.user("ann")
    site.article(ann)
    client = site.client()
    for path in ("/", "/new", "/top", "/users/ann", "/api/articles", "/api/users/ann"):
        response = client.get(f"{path}?page={page}")
        assert response.status_code in (404, 422), (path, response.status_code)
