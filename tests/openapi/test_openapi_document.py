"""The OpenAPI document made from typed handlers: parameters with their constraints,
bodies, responses, errors, security, tags, docstrings, route metadata. Every document is
checked against the OpenAPI 3.1 meta-schema."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any, Literal, TypedDict

import msgspec
import pytest
from msgspec import Meta
from openapi_spec_validator import validate

from kettle import App, Cookie, Form, Group, Header, Request, Settings, UploadFile
from kettle.exceptions import ConfigurationError
from kettle.openapi import OpenAPI, openapi_of
from kettle.responses import RedirectResponse


def document(app: App) -> dict[str, Any]:
    doc = openapi_of(app).document()
    validate(doc)  # type: ignore[arg-type]
    return doc


def new_app() -> App:
    return App(settings=Settings.load())


class Sort(enum.Enum):
    NEW = "new"
    TOP = "top"


class Article(msgspec.Struct):
    """A published article."""

    id: int
    title: Annotated[str, Meta(min_length=1, max_length=200)]


class NewArticle(msgspec.Struct):
    title: Annotated[str, Meta(min_length=1, max_length=200)]
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Filters(TypedDict):
    q: str


def params_of(doc: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return {p["name"]: p for p in doc["paths"][path][method].get("parameters", [])}


# --- parameters -------------------------------------------------------------------------


def test_parameters_from_every_source_carry_their_constraints() -> None:
    app = new_app()

    @app.get("/articles/<int:id>/comments")
    def comments(
        id: Annotated[int, Meta(ge=1)],
        limit: Annotated[int, Meta(ge=1, le=100)] = 10,
        sort: Sort = Sort.NEW,
        order: Literal["asc", "desc"] | None = None,
        tag: Annotated[list[Annotated[str, Meta(pattern="^[a-z]+$")]], Meta(max_length=3)] = [],  # noqa: B006
        ratio: Annotated[float, Meta(gt=0, lt=1, multiple_of=0.25)] = 0.5,
        trace: Annotated[str, Header("x-trace-id"), Meta(min_length=8)] = "00000000",
        theme: Annotated[Literal["light", "dark"], Cookie()] = "light",
    ) -> list[Article]:
        return []

    doc = document(app)
    assert "/articles/{id}/comments" in doc["paths"]
    params = params_of(doc, "/articles/{id}/comments")
    assert params["id"] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
    assert params["limit"]["in"] == "query"
    assert params["limit"]["required"] is False
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 10,
    }
    assert params["sort"]["schema"] == {"$ref": "#/components/schemas/Sort", "default": "new"}
    assert doc["components"]["schemas"]["Sort"]["enum"] == ["new", "top"]
    assert params["order"]["schema"]["anyOf"] == [{"enum": ["asc", "desc"]}, {"type": "null"}]
    assert params["tag"]["schema"] == {
        "type": "array",
        "items": {"type": "string", "pattern": "^[a-z]+$"},
        "maxItems": 3,
        "default": [],
    }
    assert params["ratio"]["schema"] == {
        "type": "number",
        "exclusiveMinimum": 0,
        "exclusiveMaximum": 1,
        "multipleOf": 0.25,
        "default": 0.5,
    }
    assert params["x-trace-id"]["in"] == "header"
    assert params["x-trace-id"]["schema"]["minLength"] == 8
    assert params["theme"]["in"] == "cookie"
    assert params["theme"]["schema"]["enum"] == ["dark", "light"]


def test_path_converters_narrow_the_schema() -> None:
    app = new_app()

    @app.get("/a/<int:n>/<slug:s>/<uuid:key>/<name>/<path:rest>")
    def parts(n: int, s: str, key: str, name: str, rest: str) -> dict[str, str]:
        return {}

    params = params_of(document(app), "/a/{n}/{s}/{key}/{name}/{rest}")
    assert params["n"]["schema"] == {"type": "integer", "minimum": 0}
    assert params["s"]["schema"] == {"type": "string", "pattern": "^(?:[-a-zA-Z0-9_]+)$"}
    assert params["key"]["schema"]["pattern"].startswith("^(?:[0-9a-fA-F]{8}-")
    assert params["name"]["schema"] == {"type": "string", "pattern": "^(?:[^/]+)$"}
    assert params["rest"]["schema"] == {"type": "string"}


def test_the_request_and_guard_parameters_are_not_parameters() -> None:
    app = new_app()

    @app.get("/me")
    def me(request: Request, authorization: Annotated[str, Header()] = "") -> dict[str, str]:
        return {}

    assert "parameters" not in document(app)["paths"]["/me"]["get"]


# --- bodies -----------------------------------------------------------------------------


def test_json_bodies_from_structs_dataclasses_and_typeddicts() -> None:
    app = new_app()

    @app.post("/articles")
    def create(body: NewArticle) -> Article:
        return Article(1, body.title)

    @app.put("/points")
    def point(body: Point | None = None) -> Point:
        return body or Point(0)

    @app.post("/search")
    def search(body: Filters) -> list[Article]:
        return []

    doc = document(app)
    created = doc["paths"]["/articles"]["post"]
    assert created["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewArticle"}}},
    }
    assert created["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Article"
    }
    schemas = doc["components"]["schemas"]
    assert schemas["NewArticle"]["properties"]["title"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
    }
    assert schemas["Article"]["description"] == "A published article."
    assert doc["paths"]["/points"]["put"]["requestBody"]["required"] is False
    assert schemas["Point"]["required"] == ["x"]
    assert schemas["Filters"]["required"] == ["q"]
    assert created["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_forms_are_urlencoded_and_uploads_multipart() -> None:
    app = new_app()

    @app.post("/login")
    def login(
        username: Annotated[str, Form(), Meta(min_length=1)],
        remember: Annotated[bool, Form()] = False,
    ) -> str:
        return "ok"

    @app.post("/signup")
    def signup(form: Annotated[NewArticle, Form()]) -> str:
        return "ok"

    @app.post("/upload")
    async def upload(
        avatar: UploadFile,
        extra: list[UploadFile] | None = None,
        caption: Annotated[str, Form()] = "",
    ) -> dict[str, int]:
        return {}

    doc = document(app)
    login_body = doc["paths"]["/login"]["post"]["requestBody"]
    assert login_body == {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "username": {"type": "string", "minLength": 1},
                        "remember": {"type": "boolean"},
                    },
                    "required": ["username"],
                }
            }
        },
    }
    signup_body = doc["paths"]["/signup"]["post"]["requestBody"]["content"]
    assert signup_body == {
        "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/NewArticle"}}
    }
    upload_body = doc["paths"]["/upload"]["post"]["requestBody"]
    schema = upload_body["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["avatar"] == {"type": "string", "format": "binary"}
    assert schema["properties"]["extra"] == {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
    }
    assert schema["required"] == ["avatar"]


# --- responses --------------------------------------------------------------------------


def test_responses_follow_the_return_annotation() -> None:
    app = new_app()

    @app.get("/page")
    def page() -> str:
        return "<p>hi</p>"

    @app.get("/data")
    def data() -> dict[str, int]:
        return {}

    @app.delete("/gone")
    def gone() -> None:
        return None

    @app.get("/raw")
    def raw():  # type: ignore[no-untyped-def]
        return {}

    @app.post("/go")
    def go() -> RedirectResponse:
        return RedirectResponse("/")

    @app.get("/maybe")
    def maybe() -> Article | RedirectResponse:
        return RedirectResponse("/")

    paths = document(app)["paths"]
    assert paths["/page"]["get"]["responses"]["200"]["content"] == {
        "text/html": {"schema": {"type": "string"}}
    }
    assert paths["/data"]["get"]["responses"]["200"]["content"] == {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": {"type": "integer"}}
        }
    }
    assert paths["/gone"]["delete"]["responses"] == {"204": {"description": "No content."}}
    assert paths["/raw"]["get"]["responses"] == {"200": {"description": "Successful response."}}
    assert paths["/go"]["post"]["responses"] == {"200": {"description": "Successful response."}}
    assert paths["/maybe"]["get"]["responses"]["200"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Article"}}
    }


def test_validation_errors_and_declared_responses() -> None:
    app = new_app()

    @app.get(
        "/articles/<int:id>",
        responses={
            404: {"model": "Error", "description": "No such article."},
            409: Article,
            "5XX": {"description": "The database is down."},
        },
    )
    def article(id: int) -> Article:
        return Article(id, "x")

    doc = document(app)
    responses = doc["paths"]["/articles/{id}"]["get"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationError"
    }
    assert responses["404"] == {
        "description": "No such article.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    assert responses["409"] == {
        "description": "Conflict",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Article"}}},
    }
    assert responses["5XX"] == {"description": "The database is down."}
    error = doc["components"]["schemas"]["ValidationError"]
    assert error["required"] == ["status", "error", "detail", "errors"]
    assert error["properties"]["errors"]["items"]["required"] == ["loc", "msg", "type"]


# --- route metadata ---------------------------------------------------------------------


def test_docstrings_tags_ids_and_metadata() -> None:
    app = new_app()
    blog = Group("blog", prefix="/blog")

    @blog.get("/posts")
    def posts() -> list[Article]:
        """The latest posts.

        Newest first, 20 a page.
        """
        return []

    @blog.route("/posts/<int:id>", methods=["GET", "PUT"])
    def post(id: int) -> Article:
        return Article(id, "x")

    @app.get(
        "/old",
        summary="Old endpoint",
        description="Use /blog/posts.",
        tags=["legacy"],
        deprecated=True,
        operation_id="oldList",
    )
    def old() -> list[Article]:
        """Ignored: summary= wins."""
        return []

    @app.get("/hidden", include_in_schema=False)
    def hidden() -> str:
        return ""

    @app.get(
        "/extra",
        openapi_extra={
            "x-rate-limit": 5,
            "responses": {"429": {"description": "Slow down."}},
            "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer"}}],
        },
    )
    def extra() -> list[Article]:
        return []

    app.include(blog)
    doc = document(app)
    listed = doc["paths"]["/blog/posts"]["get"]
    assert listed["summary"] == "The latest posts."
    assert listed["description"] == "Newest first, 20 a page."
    assert listed["tags"] == ["blog"]
    assert listed["operationId"] == "blog.posts"
    assert doc["paths"]["/blog/posts/{id}"]["get"]["operationId"] == "blog.post.get"
    assert doc["paths"]["/blog/posts/{id}"]["put"]["operationId"] == "blog.post.put"
    assert "head" not in doc["paths"]["/blog/posts"]
    old_op = doc["paths"]["/old"]["get"]
    assert (old_op["summary"], old_op["description"]) == ("Old endpoint", "Use /blog/posts.")
    assert (old_op["tags"], old_op["deprecated"], old_op["operationId"]) == (
        ["legacy"],
        True,
        "oldList",
    )
    assert "/hidden" not in doc["paths"]
    extra_op = doc["paths"]["/extra"]["get"]
    assert extra_op["x-rate-limit"] == 5
    assert extra_op["responses"]["429"] == {"description": "Slow down."}
    assert extra_op["responses"]["200"]["description"] == "Successful response."
    assert extra_op["parameters"] == [
        {"name": "page", "in": "query", "schema": {"type": "integer"}}
    ]
    assert doc["tags"] == [{"name": "blog"}, {"name": "legacy"}]


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"sumary": "x"}, "unknown keyword sumary=. Did you mean summary=?"),
        ({"tags": "blog"}, "tags= must be a list or tuple, got str 'blog'"),
        ({"responses": {700: None}}, "responses= key 700 is not a status code"),
    ],
)
def test_bad_route_metadata_is_refused_where_it_is_written(
    kwargs: dict[str, Any], says: str
) -> None:
    app = new_app()
    with pytest.raises(ConfigurationError, match="app: route '/x': ") as refused:
        app.get("/x", **kwargs)
    assert says in str(refused.value)


def test_info_servers_and_the_default_title() -> None:
    app = new_app()
    OpenAPI(
        app,
        title="News",
        version="2.1.0",
        description="The *news* API.",
        servers=["https://api.example.com"],
    )
    doc = document(app)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "News", "version": "2.1.0", "description": "The *news* API."}
    assert doc["servers"] == [{"url": "https://api.example.com"}]
    assert openapi_of(new_app()).document()["info"] == {"title": "API", "version": "0.1.0"}


#: A type of the app's that msgspec would name "Error" in the document.
ClashingError = msgspec.defstruct("Error", [("code", int)])


def test_a_type_named_like_a_kettle_component_is_refused() -> None:
    app = new_app()

    @app.get("/e")
    def e() -> ClashingError:  # type: ignore[valid-type]
        return ClashingError(1)

    with pytest.raises(ConfigurationError, match="already has a component 'Error'"):
        openapi_of(app).document()


def test_paths_keeps_the_routes_under_those_prefixes() -> None:
    app = new_app()

    @app.get("/")
    def home() -> str:
        return ""

    @app.get("/api/items")
    def items() -> list[int]:
        return []

    OpenAPI(app, paths=["/api/"])
    assert list(document(app)["paths"]) == ["/api/items"]
