"""Validation messages a client can act on: each of msgspec's message patterns in plain
words, and blank request fields read as "not given" (issue #12)."""

import dataclasses
import datetime
import decimal
import enum
import uuid
from typing import Annotated, Any, Literal

import msgspec
import pytest

from kettle import App, Cookie, Form, Header, Settings
from kettle import _messages as messages
from kettle.testing import TestClient


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Line(msgspec.Struct):
    sku: str
    qty: int
    color: Color = Color.RED


class Order(msgspec.Struct, forbid_unknown_fields=True):
    customer: str
    items: list[Line]


@pytest.fixture
def app() -> App:
    return App(settings=Settings.load(csrf_enabled=False))


def _convert_error(value: Any, tp: Any) -> str:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(value, tp, strict=False)
    return str(caught.value)


# --- every msgspec pattern, checked against the installed msgspec ----------------------
@pytest.mark.parametrize(
    ("value", "tp", "text", "expected"),
    [
        ("abc", int | None, True, "expected an integer, got 'abc'"),
        ("abc", int | None, False, "expected an integer or null, got 'abc'"),
        ("abc", float, True, "expected a number, got 'abc'"),
        (1, str, False, "expected text, got 1"),
        ([1], Line, False, "expected an object, got a list"),
        ("x", bool, False, "expected true or false, got 'x'"),
        ("x", Color, True, "expected one of 'red', 'green', got 'x'"),
        ("c", Literal["a", "b"] | None, True, "expected one of 'a', 'b', got 'c'"),
        (
            "ab",
            Annotated[str, msgspec.Meta(min_length=3)],
            True,
            ("expected text of at least 3 characters, got 2 characters"),
        ),
        (
            "abcd",
            Annotated[str, msgspec.Meta(max_length=1)],
            True,
            ("expected text of at most 1 character, got 4 characters"),
        ),
        (
            "A",
            Annotated[str, msgspec.Meta(pattern="^[a-z]+$")],
            True,
            ("expected text matching the pattern '^[a-z]+$', got 'A'"),
        ),
        (0, Annotated[int, msgspec.Meta(ge=1)], True, "expected an integer of at least 1, got 0"),
        (9, Annotated[int, msgspec.Meta(lt=5)], True, "expected an integer of at most 4, got 9"),
        (
            "0.5",
            Annotated[float, msgspec.Meta(ge=1)],
            True,
            ("expected a number of at least 1.0, got '0.5'"),
        ),
        (
            7,
            Annotated[int, msgspec.Meta(multiple_of=3)],
            True,
            ("expected an integer that is a multiple of 3, got 7"),
        ),
        (
            [],
            Annotated[list[int], msgspec.Meta(min_length=1)],
            False,
            ("expected a list of at least 1 item, got 0 items"),
        ),
        (
            {},
            Annotated[dict[str, int], msgspec.Meta(min_length=2)],
            False,
            ("expected an object of at least 2 keys, got 0 keys"),
        ),
        ([1], tuple[int, int], False, "expected a list of exactly 2 items, got 1"),
        (
            "x",
            datetime.datetime,
            True,
            ("expected a date and time (RFC 3339, such as 2024-05-01T09:30:00Z), got 'x'"),
        ),
        ("x", datetime.date, True, "expected a date (YYYY-MM-DD), got 'x'"),
        ("x", datetime.time, True, "expected a time (HH:MM:SS), got 'x'"),
        ("x", datetime.timedelta, True, "expected a duration (ISO 8601, such as P1DT2H), got 'x'"),
        ("x", uuid.UUID, True, "expected a UUID, got 'x'"),
        ("x", decimal.Decimal, True, "expected a decimal number, got 'x'"),
        ("!", bytes, True, "expected base64-encoded bytes, got '!'"),
        (
            "2024-05-01T09:30:00",
            Annotated[datetime.datetime, msgspec.Meta(tz=True)],
            True,
            (
                "expected a date and time with a timezone (such as Z or +02:00), "
                "got '2024-05-01T09:30:00'"
            ),
        ),
        (
            "2024-05-01T09:30:00Z",
            Annotated[datetime.datetime, msgspec.Meta(tz=False)],
            True,
            ("expected a date and time without a timezone, got '2024-05-01T09:30:00Z'"),
        ),
        ("1e400", float, True, "the number is out of range; send a smaller one"),
        (
            {"customer": "a", "items": [], "x": 1},
            Order,
            False,
            ("unknown field 'x'; remove it or check its spelling"),
        ),
    ],
)
def test_each_msgspec_pattern_becomes_a_plain_phrase(
    value: Any, tp: Any, text: bool, expected: str
) -> None:
    message, path, missing = messages.split(_convert_error(value, tp))
    assert missing is None
    assert path == ()
    allowed = messages.choices(tp)
    assert messages.problem(message, value, text=text, allowed=allowed) == expected


def test_the_path_and_the_missing_field_are_split_off() -> None:
    raw = _convert_error({"customer": "a", "items": [{"sku": "b"}]}, Order)
    assert messages.split(raw) == ("Object missing required field `qty`", ("items", 0), "qty")
    raw = _convert_error({"customer": "a", "items": [{"sku": "b", "qty": "x"}]}, Order)
    message, path, _ = messages.split(raw)
    assert path == ("items", 0, "qty")
    assert messages.problem(message) == "expected an integer, got text"


def test_a_model_own_message_is_kept() -> None:
    @dataclasses.dataclass
    class Period:
        start: int
        end: int

        def __post_init__(self) -> None:
            if self.end < self.start:
                raise ValueError("end must not be before start")

    message, _, _ = messages.split(_convert_error({"start": 2, "end": 1}, Period))
    assert messages.problem(message) == "end must not be before start"


def test_places_sentences_and_lookups() -> None:
    assert messages.where("query", ["limit"]) == "query parameter 'limit'"
    assert messages.where("form", ["choice"]) == "form field 'choice'"
    assert messages.where("body", ["items", 0, "qty"]) == "$.items[0].qty in the JSON body"
    assert messages.where("body", []) == "the JSON body"
    assert messages.invalid("cookie 'n'", "expected an integer, got 'x'") == (
        "Cookie 'n': expected an integer, got 'x'."
    )
    assert messages.required("form field 'choice'", "was blank") == (
        "This field is required: form field 'choice' was blank."
    )
    assert messages.type_at(Order, ["items", 3, "color"]) is Color
    assert messages.value_at({"items": [{"qty": "x"}]}, ["items", 0, "qty"]) == "x"
    assert messages.value_at({"items": []}, ["items", 0]) is messages.UNKNOWN
    assert messages.shown("x" * 50) == repr("x" * 40 + "...")


# --- blank request fields ---------------------------------------------------------------
SCALARS: list[tuple[Any, str]] = [
    (int, "3"),
    (float, "2.5"),
    (decimal.Decimal, "2.50"),
    (bool, "on"),
    (datetime.date, "2024-05-01"),
    (datetime.datetime, "2024-05-01T09:30:00Z"),
    (datetime.time, "09:30:00"),
    (uuid.UUID, "1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
    (Color, "green"),
    (Literal["asc", "desc"], "desc"),
]


@pytest.mark.parametrize(("tp", "good"), SCALARS, ids=[str(tp) for tp, _ in SCALARS])
def test_a_blank_optional_field_is_none_from_every_source(app: App, tp: Any, good: str) -> None:
    @app.post("/poll")
    def poll(
        choice: Annotated[tp | None, Form()] = None,  # type: ignore[valid-type]
        q: tp | None = None,  # type: ignore[valid-type]
        h: Annotated[tp | None, Header()] = None,  # type: ignore[valid-type]
        c: Annotated[tp | None, Cookie()] = None,  # type: ignore[valid-type]
    ) -> dict[str, Any]:
        return {"choice": choice, "q": q, "h": h, "c": c}

    with TestClient(app) as client:
        blank = client.post("/poll?q=", data={"choice": ""}, headers={"h": "", "cookie": "c="})
        given = client.post(f"/poll?q={good}", data={"choice": good})
    assert blank.status_code == 200, blank.text
    assert blank.json() == {"choice": None, "q": None, "h": None, "c": None}
    assert given.status_code == 200, given.text
    assert given.json()["choice"] is not None


def test_a_blank_field_with_a_default_takes_the_default(app: App) -> None:
    @app.post("/list")
    def listing(
        page: int = 3,
        since: datetime.date = datetime.date(2024, 1, 1),
        votes: Annotated[int, Form()] = 0,
        ids: list[int] | None = None,
    ) -> list[Any]:
        return [page, since.isoformat(), votes, ids]

    with TestClient(app) as client:
        got = client.post("/list?page=&since=&ids=&ids=2&ids=", data={"votes": ""}).json()
        all_blank = client.post("/list?ids=").json()
    assert got == [3, "2024-01-01", 0, [2]]
    assert all_blank == [3, "2024-01-01", 0, None]


def test_a_blank_required_field_is_this_field_is_required(app: App) -> None:
    @app.post("/vote")
    def vote(choice: Annotated[int, Form()], color: Color) -> str:
        return "never"

    with TestClient(app) as client:
        response = client.post("/vote?color=", data={"choice": ""})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["query", "color"],
            "msg": "This field is required: query parameter 'color' was blank.",
            "type": "missing",
        },
        {
            "loc": ["form", "choice"],
            "msg": "This field is required: form field 'choice' was blank.",
            "type": "missing",
        },
    ]


def test_a_blank_text_field_stays_empty_text(app: App) -> None:
    @app.post("/note")
    def note(title: Annotated[str, Form()], body: str | None = None) -> list[Any]:
        return [title, body]

    with TestClient(app) as client:
        assert client.post("/note?body=", data={"title": ""}).json() == ["", ""]


class Vote(msgspec.Struct):
    voter: str
    choice: int | None = None
    weight: int = 1
    on: datetime.date | None = datetime.date(2024, 1, 1)
    tags: list[int] = []


def test_a_whole_form_reads_blanks_the_same_way(app: App) -> None:
    @app.post("/vote")
    def vote(v: Annotated[Vote, Form()]) -> Vote:
        return v

    @dataclasses.dataclass
    class Ballot:
        choice: int

    @app.post("/ballot")
    def ballot(b: Annotated[Ballot, Form()]) -> str:
        return "never"

    form = {"voter": "", "choice": "", "weight": "", "on": "", "tags": ["", "4"]}
    with TestClient(app) as client:
        got = client.post("/vote", data=form).json()
        missing = client.post("/ballot", data={"choice": ""})
    assert got == {"voter": "", "choice": None, "weight": 1, "on": None, "tags": [4]}
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {
            "loc": ["form", "choice"],
            "msg": "This field is required: form field 'choice' was blank.",
            "type": "missing",
        }
    ]


# --- the messages a client gets ---------------------------------------------------------
def test_every_source_says_what_where_and_what_to_send(app: App) -> None:
    @app.post("/items/<float:size>")
    def items(
        size: float,
        limit: int | None = None,
        ratio: float | None = None,
        color: Color | None = None,
        per: Annotated[int, msgspec.Meta(ge=1)] = 1,
        code: Annotated[str, msgspec.Meta(min_length=3)] = "abc",
        since: datetime.date | None = None,
        version: Annotated[int, Header()] = 0,
        theme: Annotated[Color, Cookie()] = Color.RED,
        choice: Annotated[int | None, Form()] = None,
        ids: Annotated[list[int] | None, Form()] = None,
    ) -> str:
        return "never"

    query = "limit=abc&ratio=x&color=blue&per=0&code=ab&since=soon"
    with TestClient(app) as client:
        response = client.post(
            f"/items/1.5?{query}",
            data={"choice": "many", "ids": ["1", "x"]},
            headers={"version": "v2", "cookie": "theme=pink"},
        )
    assert response.status_code == 422
    errors = {tuple(e["loc"]): e["msg"] for e in response.json()["errors"]}
    digits = "expected a whole number (ASCII digits 0-9)"
    assert errors == {
        ("query", "limit"): f"Query parameter 'limit': {digits}, got 'abc'.",
        ("query", "ratio"): "Query parameter 'ratio': expected a number, got 'x'.",
        ("query", "color"): "Query parameter 'color': expected one of 'red', 'green', got 'blue'.",
        ("query", "per"): "Query parameter 'per': expected an integer of at least 1, got 0.",
        ("query", "code"): (
            "Query parameter 'code': expected text of at least 3 characters, got 2 characters."
        ),
        ("query", "since"): "Query parameter 'since': expected a date (YYYY-MM-DD), got 'soon'.",
        ("header", "version"): f"Header 'version': {digits}, got 'v2'.",
        ("cookie", "theme"): "Cookie 'theme': expected one of 'red', 'green', got 'pink'.",
        ("form", "choice"): f"Form field 'choice': {digits}, got 'many'.",
        ("form", "ids"): f"Form field 'ids': {digits}, got 'x'.",
    }


def test_a_missing_parameter_names_where_it_was_expected(app: App) -> None:
    @app.get("/need")
    def need(x: int, token: Annotated[str, Header("X-Token")]) -> str:
        return "never"

    with TestClient(app) as client:
        errors = client.get("/need").json()["errors"]
    assert [e["msg"] for e in errors] == [
        "This field is required: query parameter 'x' was not sent.",
        "This field is required: header 'X-Token' was not sent.",
    ]


def test_json_body_messages_name_the_path_in_the_body(app: App) -> None:
    @app.post("/orders")
    def create(order: Order) -> str:
        return "never"

    def errors(body: Any) -> list[tuple[list[Any], str, str]]:
        with TestClient(app) as client:
            response = client.post("/orders", json=body)
        assert response.status_code == 422, response.text
        return [(e["loc"], e["msg"], e["type"]) for e in response.json()["errors"]]

    line = {"sku": "a", "qty": 1}
    assert errors({"customer": "ann", "items": [{"sku": "a", "qty": "many"}]}) == [
        (
            ["body", "items", 0, "qty"],
            "$.items[0].qty in the JSON body: expected an integer, got 'many'.",
            "invalid",
        )
    ]
    assert errors({"customer": "ann", "items": [{**line, "color": "blue"}]}) == [
        (
            ["body", "items", 0, "color"],
            "$.items[0].color in the JSON body: expected one of 'red', 'green', got 'blue'.",
            "invalid",
        )
    ]
    assert errors({"items": []}) == [
        (
            ["body", "customer"],
            "This field is required: $.customer in the JSON body is missing.",
            "missing",
        )
    ]
    assert errors({"customer": "ann", "items": [], "note": "x"}) == [
        (
            ["body", "order"],
            "The JSON body: unknown field 'note'; remove it or check its spelling.",
            "invalid",
        )
    ]
    assert errors([line]) == [
        (["body", "order"], "The JSON body: expected an object, got a list.", "invalid")
    ]


def test_no_message_keeps_msgspec_wording(app: App) -> None:
    @app.post("/all/<int:n>")
    def everything(
        n: int,
        order: Order,
        a: Annotated[str, msgspec.Meta(max_length=1)] = "",
        b: tuple[int, int] | None = None,
    ) -> str:
        return "never"

    body = {"customer": 1, "items": [{"sku": None, "qty": 1.5, "color": 3}, "x"]}
    with TestClient(app) as client:
        response = client.post("/all/1?a=xy&b=1", json=body)
    assert response.status_code == 422
    for error in response.json()["errors"]:
        assert "`" not in error["msg"], error
        assert "null" not in error["msg"].split(",")[0], error
        assert error["msg"].endswith("."), error
