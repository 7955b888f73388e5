"""A resource in the OpenAPI document: its filters as query parameters, its schemas, its
error responses and its security; the document validates against OpenAPI 3.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from authsite import make_site
from openapi_spec_validator import validate
from postsite import PostResource

from kettle.openapi import OpenAPI


class ReadOnlyPosts(PostResource):
    actions = ("list", "retrieve")
    pagination = "cursor"
    ordering = ("score", "created")


def document(tmp_path: Path) -> dict[str, Any]:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'openapi.sqlite3'}")
    site.app.resource("/api/posts", PostResource)
    site.app.resource("/api/feed", ReadOnlyPosts, name="feed")
    return OpenAPI(site.app).document()


def test_resources_are_described_with_their_filters(tmp_path: Path) -> None:
    doc = document(tmp_path)
    validate(doc)  # type: ignore[arg-type]
    listing = doc["paths"]["/api/posts"]["get"]
    names = [p["name"] for p in listing["parameters"]]
    assert names == [
        "author__username",
        "score__gte",
        "score__lte",
        "stage",
        "stage__in",
        "created__gte",
        "ordering",
        "search",
        "page",
        "page_size",
        "fields",
    ]
    stage = next(p for p in listing["parameters"] if p["name"] == "stage")
    assert stage["schema"] == {"type": "string", "enum": ["draft", "live"]}
    assert listing["tags"] == ["post"]
    assert listing["operationId"] == "post.list"
    assert "security" not in listing  # reads are public
    assert {"400", "404", "422"} <= set(listing["responses"])
    items = doc["components"]["schemas"]["ListPage_Post_"]["properties"]["items"]
    assert items["items"] == {"$ref": "#/components/schemas/Post"}

    create = doc["paths"]["/api/posts"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PostInput"
    }
    assert "201" in create["responses"]
    assert create["security"] == [{"sessionCookie": []}, {"bearerAuth": []}]
    body = doc["components"]["schemas"]["PostInput"]
    assert body["required"] == ["title", "author_id"]
    assert body["additionalProperties"] is False
    assert body["properties"]["title"]["maxLength"] == 120
    patch = doc["paths"]["/api/posts/{id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PostPatch"
    }
    assert not doc["components"]["schemas"]["PostPatch"].get("required")
    assert {"401", "403", "404", "409", "412", "422"} <= set(patch["responses"])
    assert patch["responses"]["412"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert "304" in doc["paths"]["/api/posts/{id}"]["get"]["responses"]
    assert "204" in doc["paths"]["/api/posts/{id}"]["delete"]["responses"]


def test_cursor_pages_and_fewer_actions(tmp_path: Path) -> None:
    doc = document(tmp_path)
    feed = doc["paths"]["/api/feed"]
    assert set(feed) == {"get"}
    assert set(doc["paths"]["/api/feed/{id}"]) == {"get"}
    names = [p["name"] for p in feed["get"]["parameters"]]
    assert "cursor" in names
    assert "page" not in names


class StrictPosts(PostResource):
    require_if_match = True


def test_conditional_headers_are_documented(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'etags.sqlite3'}")
    site.app.resource("/api/posts", PostResource)
    site.app.resource("/api/strict", StrictPosts, name="strict")
    doc = OpenAPI(site.app).document()
    validate(doc)  # type: ignore[arg-type]

    def header(path: str, method: str) -> dict[str, Any]:
        operation = doc["paths"][path][method]
        return next(p for p in operation["parameters"] if p["in"] == "header")

    assert header("/api/posts/{id}", "get")["name"] == "If-None-Match"
    for method in ("put", "patch", "delete"):
        optional = header("/api/posts/{id}", method)
        assert (optional["name"], optional["required"]) == ("If-Match", False)
        required = header("/api/strict/{id}", method)
        assert (required["name"], required["required"]) == ("If-Match", True)
    assert "428" in doc["paths"]["/api/strict/{id}"]["put"]["responses"]
    assert "428" not in doc["paths"]["/api/posts/{id}"]["put"]["responses"]
    for path, method, status in (
        ("/api/posts/{id}", "get", "200"),
        ("/api/posts", "post", "201"),
        ("/api/posts/{id}", "put", "200"),
        ("/api/posts/{id}", "patch", "200"),
    ):
        etag = doc["paths"][path][method]["responses"][status]["headers"]["ETag"]
        assert etag["schema"] == {"type": "string"}
    assert "headers" not in doc["paths"]["/api/posts/{id}"]["delete"]["responses"]["204"]
