"""Data-layer errors a handler lets escape become clear 4xx answers."""

from __future__ import annotations

from kettle.db import Database


def test_a_model_validation_error_escaping_a_handler_is_a_422(db: Database) -> None:
    from newsmodels import Article, User

    from kettle.testing import TestClient

    app = db.app
    assert app is not None

    @app.post("/articles")
    def create_article() -> dict[str, int]:
        author = User.objects.create(username="val")
        article = Article.objects.create(title="x" * 201, author=author)
        return {"id": article.id}

    with TestClient(app) as client:
        response = client.post("/articles")
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["loc"] == ["Article", "title"]
    assert "at most 200 characters" in body["errors"][0]["msg"]
    with db.session():
        assert User.objects.filter(username="val").count() == 0  # rolled back
