"""msgspec constraints (``Annotated[int, Meta(ge=1)]``, enums, ``Literal``) hold for every
parameter source, with the same 422 naming the field, its source and the rule broken."""

from __future__ import annotations

import decimal
import enum
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
import pytest
from msgspec import Meta

from kettle import App, Cookie, Form, Header, Settings
from kettle.exceptions import ConfigurationError
from kettle.params import Param
from kettle.testing import TestClient


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 3


# (rule, annotation, a value that passes, one that breaks it, what the 422 says)
RULES: list[tuple[str, Any, str, str, str]] = [
    ("ge", Annotated[int, Meta(ge=1)], "1", "0", "expected an integer of at least 1, got 0"),
    ("le", Annotated[int, Meta(le=100)], "100", "500", "expected an integer of at most 100"),
    ("gt", Annotated[float, Meta(gt=0)], "0.5", "0", "expected a number of more than 0"),
    ("lt", Annotated[float, Meta(lt=1)], "0.5", "1.5", "expected a number of less than 1"),
    ("multiple_of", Annotated[int, Meta(multiple_of=5)], "10", "7", "a multiple of 5, got 7"),
    ("min_length", Annotated[str, Meta(min_length=3)], "abc", "ab", "at least 3 characters"),
    ("max_length", Annotated[str, Meta(max_length=3)], "abc", "abcd", "at most 3 characters"),
    (
        "pattern",
        Annotated[str, Meta(pattern="^[a-z]+$")],
        "abc",
        "AB1",
        "pattern '^[a-z]+$', got 'AB1'",
    ),
    ("enum", Color, "red", "pink", "expected one of 'red', 'green', got 'pink'"),
    ("int_enum", Size, "3", "2", "expected one of 1, 3, got '2'"),
    ("literal", Literal["asc", "desc"], "asc", "up", "expected one of 'asc', 'desc', got 'up'"),
    ("optional", Annotated[int, Meta(ge=1)] | None, "5", "0", "of at least 1"),
]

SOURCES = ["path", "query", "header", "cookie", "form", "multipart"]
PLACES = {
    "path": "Path parameter",
    "query": "Query parameter",
    "header": "Header",
    "cookie": "Cookie",
    "form": "Form field",
    "multipart": "Form field",
}
MARKERS: dict[str, Callable[[], Param] | None] = {
    "path": None,
    "query": None,
    "header": Header,
    "cookie": Cookie,
    "form": Form,
    "multipart": Form,
}


def handler_for(annotation: Any, marker: Callable[[], Param] | None) -> Callable[..., Any]:
    def handler(value: Any) -> dict[str, Any]:
        return {"value": value.value if isinstance(value, enum.Enum) else value}

    hint = Annotated[annotation, marker()] if marker else annotation
    handler.__annotations__ = {"value": hint, "return": dict[str, Any]}
    return handler


def app_for(annotation: Any) -> App:
    app = App(settings=Settings.load(csrf_enabled=False))
    for source, marker in MARKERS.items():
        path = "/path/<value>" if source == "path" else f"/{source}"
        method = ("POST",) if source in ("form", "multipart") else ("GET",)
        app.route(path, method, name=source)(handler_for(annotation, marker))
    return app


def send(client: TestClient, source: str, text: str) -> Any:
    if source == "path":
        return client.get(f"/path/{text}")
    if source == "query":
        return client.get("/query", params={"value": text})
    if source == "header":
        return client.get("/header", headers={"value": text})
    if source == "cookie":
        client.cookies.clear()
        client.cookies.set("value", text)
        return client.get("/cookie")
    if source == "form":
        return client.post("/form", data={"value": text})
    return client.post("/multipart", data={"value": text}, files={"f": ("a.txt", b"x")})


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("rule", "annotation", "good", "bad", "says"), RULES, ids=[r[0] for r in RULES]
)
def test_a_constraint_holds_on_every_source(
    source: str, rule: str, annotation: Any, good: str, bad: str, says: str
) -> None:
    with TestClient(app_for(annotation)) as client:
        ok = send(client, source, good)
        assert ok.status_code == 200, ok.text
        refused = send(client, source, bad)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    key = "value"
    assert error["loc"] == [source if source != "multipart" else "form", key]
    assert error["msg"].startswith(f"{PLACES[source]} '{key}': "), error["msg"]
    assert says in error["msg"], error["msg"]


def test_a_typed_path_converter_keeps_the_constraint() -> None:
    app = App(settings=Settings.load())

    @app.get("/items/<int:id>")
    def item(id: Annotated[int, Meta(ge=1)]) -> dict[str, int]:
        return {"id": id}

    with TestClient(app) as client:
        assert client.get("/items/1").json() == {"id": 1}
        refused = client.get("/items/0")
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "loc": ["path", "id"],
            "msg": "Path parameter 'id': expected an integer of at least 1, got 0.",
            "type": "invalid",
        }
    ]


# --- repeated keys: list lengths and constraints on each item ----------------------------

TAGS = Annotated[list[Annotated[int, Meta(ge=1)]], Meta(min_length=2, max_length=3)]


def tags_app() -> App:
    app = App(settings=Settings.load(csrf_enabled=False))

    @app.get("/query")
    def query(tag: TAGS) -> list[int]:
        return tag

    @app.post("/form")
    def form(tag: Annotated[TAGS, Form()]) -> list[int]:
        return tag

    return app


def send_tags(client: TestClient, source: str, values: list[str]) -> Any:
    pairs = [("tag", v) for v in values]
    if source == "query":
        return client.get("/query", params=pairs)
    if source == "form":
        return client.post("/form", data={"tag": values})
    return client.post("/form", data={"tag": values}, files={"f": ("a.txt", b"x")})


@pytest.mark.parametrize("source", ["query", "form", "multipart"])
@pytest.mark.parametrize(
    ("values", "says"),
    [
        (["1"], "expected a list of at least 2 items, got 1 item"),
        (["1", "2", "3", "4"], "expected a list of at most 3 items, got 4 items"),
        (["1", "0"], "expected an integer of at least 1, got 0"),
    ],
    ids=["too-few", "too-many", "bad-item"],
)
def test_list_lengths_and_items_hold_for_repeated_keys(
    source: str, values: list[str], says: str
) -> None:
    with TestClient(tags_app()) as client:
        assert send_tags(client, source, ["1", "2"]).json() == [1, 2]
        refused = send_tags(client, source, values)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    place = "Query parameter" if source == "query" else "Form field"
    assert error["loc"] == ["query" if source == "query" else "form", "tag"]
    assert error["msg"].startswith(f"{place} 'tag': "), error["msg"]
    assert says in error["msg"], error["msg"]


# --- a whole form read into a Struct --------------------------------------------------


class Signup(msgspec.Struct):
    name: Annotated[str, Meta(min_length=2, max_length=20)]
    age: Annotated[int, Meta(ge=13)]
    plan: Literal["free", "pro"] = "free"


def signup_app() -> App:
    app = App(settings=Settings.load(csrf_enabled=False))

    @app.post("/signup")
    def signup(form: Annotated[Signup, Form()]) -> Signup:
        return form

    return app


@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
@pytest.mark.parametrize(
    ("field", "text", "says"),
    [
        ("name", "x", "expected text of at least 2 characters, got 1 character"),
        ("age", "12", "expected an integer of at least 13, got '12'"),
        ("plan", "gold", "expected one of 'free', 'pro', got 'gold'"),
    ],
)
def test_constraints_hold_in_a_whole_form(
    multipart: bool, field: str, text: str, says: str
) -> None:
    data = {"name": "Ada", "age": "36", "plan": "pro"}
    files = {"f": ("a.txt", b"x")} if multipart else None
    with TestClient(signup_app()) as client:
        assert client.post("/signup", data=data, files=files).status_code == 200
        refused = client.post("/signup", data={**data, field: text}, files=files)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["loc"] == ["form", field]
    assert error["msg"] == f"Form field {field!r}: {says}."


# --- a constraint msgspec cannot apply ------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "marker"),
    [
        (Annotated[decimal.Decimal, Meta(ge=0)], None),
        (Annotated[int, Meta(pattern="^[0-9]+$")], Header),
        (Annotated[list[str], Meta(ge=1)], Form),
    ],
    ids=["ge-on-decimal", "pattern-on-int", "ge-on-list"],
)
def test_a_constraint_that_cannot_hold_is_refused_at_start_up(
    annotation: Any, marker: Callable[[], Param] | None
) -> None:
    app = App(settings=Settings.load())
    app.post("/x", name="x")(handler_for(annotation, marker))
    with pytest.raises(ConfigurationError) as refused:
        app.build()
    message = str(refused.value)
    assert "handler_for.<locals>.handler: parameter 'value' has a type Kettle cannot" in message
    assert "Numeric constraints (ge, le, gt, lt, multiple_of) apply to int and float" in message
