"""JSON bodies that are both of the wrong type and malformed: a 400, never a 500."""

from __future__ import annotations

import msgspec
import pytest

from kettle import App
from kettle.testing import TestClient


class Article(msgspec.Struct):
    title: str


app = App()


@app.post("/articles")
async def create(article: Article) -> dict[str, str]:
    return {"title": article.title}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"title": [1, NaN]}',  # a wrong type first, then a token JSON does not have
        b'{"title": ["\\ud800"], "x": [',  # a wrong type, then the body ends too soon
        b'{"title": [null, "ok"]} trailing',
        b'{"title": 5, "rest": "\xff"}',  # a wrong type, then bytes that are not UTF-8
    ],
)
def test_a_body_of_the_wrong_type_that_is_also_malformed_is_a_400(raw: bytes) -> None:
    response = TestClient(app).post(
        "/articles", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "not valid" in response.json()["detail"]
