"""Handlers: sync/async execution, typed parameters from every source, validation errors."""

import asyncio
import dataclasses
import threading
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
import pytest

from kettle import App, Cookie, Form, Header, Query, Request, Settings, UploadFile
from kettle.exceptions import ConfigurationError
from kettle.testing import AsyncTestClient, TestClient

pytestmark = pytest.mark.anyio


class Line(msgspec.Struct):
    sku: str
    qty: int


class Order(msgspec.Struct):
    customer: str
    items: list[Line]


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Signup(msgspec.Struct):
    email: str
    age: int


class Tagged(msgspec.Struct):
    name: str
    tags: list[str] = []


@pytest.fixture
def app() -> App:
    return App(settings=Settings.load(csrf_enabled=False))


# --- execution ------------------------------------------------------------------------
async def test_sync_handlers_run_in_the_pool_and_async_ones_on_the_loop(app: App) -> None:
    threads: dict[str, threading.Thread] = {}

    @app.get("/sync")
    def sync_handler() -> str:
        threads["sync"] = threading.current_thread()
        return "sync"

    @app.get("/async")
    async def async_handler() -> str:
        threads["async"] = threading.current_thread()
        return "async"

    async with AsyncTestClient(app) as client:
        assert (await client.get("/sync")).text == "sync"
        assert (await client.get("/async")).text == "async"
    assert threads["sync"].name.startswith("kettle-handler")
    assert threads["async"] is threading.current_thread()


async def test_thread_pool_size_limits_concurrent_sync_handlers() -> None:
    app = App(settings=Settings.load(thread_pool_size=2))
    lock = threading.Lock()
    pair = threading.Barrier(2, timeout=5)
    state = {"running": 0, "peak": 0}

    @app.get("/block")
    def block() -> str:
        with lock:
            state["running"] += 1
            state["peak"] = max(state["peak"], state["running"])
        pair.wait()  # two handlers are inside together; a larger pool would let more in
        threading.Event().wait(0.05)
        with lock:
            state["running"] -= 1
        return "done"

    async with AsyncTestClient(app) as client:
        responses = await asyncio.gather(*(client.get("/block") for _ in range(4)))
    assert [r.text for r in responses] == ["done"] * 4
    assert state["peak"] == 2


# --- path and query ---------------------------------------------------------------------
def test_path_params_are_typed(app: App) -> None:
    @app.get("/items/<int:id>/<name>")
    def item(id: int, name: str) -> dict[str, Any]:
        return {"id": id, "name": name, "types": [type(id).__name__, type(name).__name__]}

    @app.get("/untyped/<n>")
    def untyped(n: int) -> dict[str, int]:
        return {"double": n * 2}

    with TestClient(app) as client:
        assert client.get("/items/5/pen").json() == {
            "id": 5,
            "name": "pen",
            "types": ["int", "str"],
        }
        assert client.get("/untyped/21").json() == {"double": 42}
        response = client.get("/untyped/abc")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "n"]


def test_query_params_are_typed_with_defaults(app: App) -> None:
    @app.get("/search")
    def search(
        q: str,
        page: int = 1,
        ratio: float = 0.5,
        exact: bool = False,
        lang: str | None = None,
        limit: int | None = None,
        ids: list[int] | None = None,
        per: Annotated[int, Query("per_page")] = 10,
    ) -> dict[str, Any]:
        return {
            "q": q,
            "page": page,
            "ratio": ratio,
            "exact": exact,
            "lang": lang,
            "limit": limit,
            "ids": ids,
            "per": per,
        }

    with TestClient(app) as client:
        assert client.get("/search?q=tea").json() == {
            "q": "tea",
            "page": 1,
            "ratio": 0.5,
            "exact": False,
            "lang": None,
            "limit": None,
            "ids": None,
            "per": 10,
        }
        got = client.get(
            "/search?q=tea&page=3&ratio=0.25&exact=true&lang=en&limit=9&ids=1&ids=2&per_page=50"
        ).json()
    assert got == {
        "q": "tea",
        "page": 3,
        "ratio": 0.25,
        "exact": True,
        "lang": "en",
        "limit": 9,
        "ids": [1, 2],
        "per": 50,
    }


def test_missing_required_query_is_a_422_naming_it(app: App) -> None:
    @app.get("/need")
    def need(x: int) -> str:
        return str(x)

    with TestClient(app) as client:
        response = client.get("/need")
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    assert body["errors"] == [
        {
            "loc": ["query", "x"],
            "msg": "This field is required: query parameter 'x' was not sent.",
            "type": "missing",
        }
    ]


def test_several_bad_fields_are_reported_together(app: App) -> None:
    @app.post("/many/<int:id>")
    def many(id: int, page: int, token: Annotated[str, Header()], body: Point) -> str:
        return "never"

    with TestClient(app) as client:
        response = client.post("/many/1?page=x", json={"x": "not-int"})
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["errors"]]
    assert locs == [["query", "page"], ["header", "token"], ["body", "x"]]


FULLWIDTH_SEVEN = "\uff17"


@pytest.mark.parametrize(
    # A blank ("") means "not given": see tests/test_validation_messages.py.
    "text",
    ["²", "٣", FULLWIDTH_SEVEN, "1_000", " 7", "7 ", "0x1f", "1e3", "--1"],
)
def test_integers_from_a_request_are_ascii_digits_only(app: App, text: str) -> None:
    @app.post("/ints/<n>")
    def ints(
        n: int,
        page: int = 1,
        limit: int | None = None,
        ids: list[int] | None = None,
        per: Annotated[int, msgspec.Meta(ge=1)] = 1,
        version: Annotated[int, Header()] = 0,
        theme: Annotated[int, Cookie()] = 0,
        count: Annotated[int, Form()] = 0,
    ) -> str:
        return "never"

    fields = ["page", "limit", "ids", "per"]
    sent = quote(text)
    with TestClient(app) as client:
        response = client.post(
            f"/ints/{sent or 'x'}?" + "&".join(f"{name}={sent}" for name in fields),
            data={"count": text},
            headers={"version": text.encode(), "cookie": f"theme={sent}".encode()},
        )
    assert response.status_code == 422, response.text
    locs = [error["loc"] for error in response.json()["errors"]]
    expected = [["path", "n"], *(["query", name] for name in fields)]
    expected += [["header", "version"], ["cookie", "theme"], ["form", "count"]]
    assert locs == expected


def test_signed_ascii_integers_are_read(app: App) -> None:
    @app.get("/ints")
    def ints(page: int, limit: int | None = None, ids: list[int] | None = None) -> Any:
        return [page, limit, ids]

    with TestClient(app) as client:
        assert client.get("/ints?page=-3&limit=007&ids=1&ids=-2").json() == [-3, 7, [1, -2]]
        assert client.get("/ints?page=%2B4").json() == [4, None, None]


# --- JSON bodies ------------------------------------------------------------------------
def test_json_body_as_struct_and_dataclass(app: App) -> None:
    @app.post("/orders")
    def create(order: Order) -> dict[str, Any]:
        return {"customer": order.customer, "total": sum(i.qty for i in order.items)}

    @app.post("/points")
    async def point(p: Point) -> Point:
        return Point(p.x * 2, p.y * 2)

    with TestClient(app) as client:
        order = {"customer": "ann", "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 3}]}
        assert client.post("/orders", json=order).json() == {"customer": "ann", "total": 5}
        assert client.post("/points", json={"x": 2}).json() == {"x": 4, "y": 0}


def test_nested_body_error_has_the_full_location(app: App) -> None:
    @app.post("/orders")
    def create(order: Order) -> str:
        return "never"

    with TestClient(app) as client:
        response = client.post(
            "/orders", json={"customer": "ann", "items": [{"sku": "a", "qty": "many"}]}
        )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "items", 0, "qty"]
    assert "int" in error["msg"]


def test_malformed_json_is_400_and_wrong_content_type_is_415(app: App) -> None:
    @app.post("/points")
    def point(p: Point) -> Point:
        return p

    with TestClient(app) as client:
        bad = client.post(
            "/points", content=b'{"x": 1', headers={"content-type": "application/json"}
        )
        wrong = client.post("/points", content=b"x=1", headers={"content-type": "text/plain"})
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("The request body is not valid JSON")
    assert wrong.status_code == 415
    assert "text/plain" in wrong.json()["detail"]


def test_optional_struct_body_is_read_from_the_body(app: App) -> None:
    @app.post("/maybe")
    def maybe(p: Point | None = None) -> dict[str, Any]:
        return {"x": None if p is None else p.x}

    with TestClient(app) as client:
        assert client.post("/maybe", json={"x": 3}).json() == {"x": 3}


# --- headers, cookies, forms, files ----------------------------------------------------
def test_headers_and_cookies(app: App) -> None:
    @app.get("/who")
    def who(
        user_agent: Annotated[str, Header()],
        token: Annotated[str, Header("X-Api-Token")],
        retries: Annotated[int, Header()] = 0,
        theme: Annotated[str, Cookie()] = "light",
        sid: Annotated[str | None, Cookie("session_id")] = None,
    ) -> dict[str, Any]:
        return {"ua": user_agent, "token": token, "retries": retries, "theme": theme, "sid": sid}

    with TestClient(app) as client:
        response = client.get(
            "/who",
            headers={
                "user-agent": "probe/1",
                "x-api-token": "t0k",
                "Retries": "3",
                "cookie": "theme=dark; session_id=abc",
            },
        )
        assert response.json() == {
            "ua": "probe/1",
            "token": "t0k",
            "retries": 3,
            "theme": "dark",
            "sid": "abc",
        }
        missing = client.get("/who", headers={"user-agent": "probe/1"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["header", "X-Api-Token"]


def test_list_headers_split_on_commas_and_repeated_lines(app: App) -> None:
    @app.get("/accepts")
    def accepts(
        x_tags: Annotated[list[str], Header()],
        x_ids: Annotated[list[int], Header()] = [],  # noqa: B006 (never mutated)
    ) -> dict[str, Any]:
        return {"tags": x_tags, "ids": x_ids}

    with TestClient(app) as client:
        one_line = client.get("/accepts", headers={"X-Tags": "gzip, br,zstd", "X-Ids": "1,2"})
        assert one_line.json() == {"tags": ["gzip", "br", "zstd"], "ids": [1, 2]}
        lines = client.get("/accepts", headers=[("X-Tags", "a, b"), ("X-Tags", "c")])
        assert lines.json() == {"tags": ["a", "b", "c"], "ids": []}
        bad = client.get("/accepts", headers={"X-Tags": "a", "X-Ids": "1, two"})
        blank = client.get("/accepts", headers={"X-Tags": " , "})
        absent = client.get("/accepts")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["header", "x-ids"]
    assert blank.status_code == 422
    assert absent.status_code == 422
    assert absent.json()["errors"][0]["loc"] == ["header", "x-tags"]


def test_form_fields_and_whole_form_struct(app: App) -> None:
    @app.post("/field")
    def field(
        name: Annotated[str, Form()], tags: Annotated[list[str], Form()], n: Annotated[int, Form()]
    ) -> dict[str, Any]:
        return {"name": name, "tags": tags, "n": n}

    @app.post("/signup")
    def signup(form: Annotated[Signup, Form()]) -> dict[str, Any]:
        return {"email": form.email, "age": form.age}

    with TestClient(app) as client:
        got = client.post("/field", data={"name": "ann", "tags": ["a", "b"], "n": "4"})
        assert got.json() == {"name": "ann", "tags": ["a", "b"], "n": 4}
        assert client.post("/signup", data={"email": "a@b.c", "age": "30"}).json() == {
            "email": "a@b.c",
            "age": 30,
        }
        bad = client.post("/signup", data={"email": "a@b.c", "age": "old"})
        missing = client.post("/field", data={"tags": "a", "n": "1"})
    assert bad.status_code == 422
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["form", "name"]


def test_whole_form_error_names_the_bad_field(app: App) -> None:
    @app.post("/signup")
    def signup(form: Annotated[Signup, Form()]) -> str:
        return "never"

    with TestClient(app) as client:
        response = client.post("/signup", data={"email": "a@b.c", "age": "old"})
    assert response.json()["errors"][0]["loc"] == ["form", "age"]


def test_whole_form_model_with_a_list_field(app: App) -> None:
    @app.post("/tagged")
    def tagged(form: Annotated[Tagged, Form()]) -> dict[str, Any]:
        return {"name": form.name, "tags": form.tags}

    with TestClient(app) as client:
        response = client.post("/tagged", data={"name": "n", "tags": ["a", "b"]})
    assert response.json() == {"name": "n", "tags": ["a", "b"]}


def test_file_uploads(app: App) -> None:
    @app.post("/one")
    async def one(doc: UploadFile, title: Annotated[str, Form()]) -> dict[str, Any]:
        return {
            "title": title,
            "name": doc.filename,
            "type": doc.content_type,
            "data": (await doc.read()).decode(),
        }

    @app.post("/many")
    async def many(docs: list[UploadFile]) -> list[Any]:
        return [[d.filename, d.size] for d in docs]

    with TestClient(app) as client:
        response = client.post(
            "/one",
            data={"title": "notes"},
            files={"doc": ("a.txt", b"hello", "text/plain")},
        )
        assert response.json() == {
            "title": "notes",
            "name": "a.txt",
            "type": "text/plain",
            "data": "hello",
        }
        files = [("docs", ("x.bin", b"12")), ("docs", ("y.bin", b"3456"))]
        assert client.post("/many", files=files).json() == [["x.bin", 2], ["y.bin", 4]]
        missing = client.post("/one", data={"title": "notes"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["file", "doc"]


def test_optional_upload_is_filled_when_sent(app: App) -> None:
    @app.post("/maybe")
    def maybe(doc: UploadFile | None = None) -> dict[str, Any]:
        return {"name": None if doc is None else doc.filename}

    with TestClient(app) as client:
        response = client.post("/maybe", files={"doc": ("a.txt", b"x")})
    assert response.json() == {"name": "a.txt"}


def test_uploads_are_closed_after_the_response(app: App) -> None:
    kept: list[UploadFile] = []

    @app.post("/keep")
    def keep(doc: UploadFile) -> str:
        kept.append(doc)
        return "ok"

    with TestClient(app) as client:
        assert client.post("/keep", files={"doc": ("a.txt", b"x")}).text == "ok"
    assert kept[0].file.closed


# --- the request, and configuration errors ---------------------------------------------
def test_request_by_annotation_and_by_bare_name(app: App) -> None:
    @app.get("/typed")
    def typed(req: Request) -> str:
        return req.path

    @app.get("/bare")
    async def bare(request) -> str:  # type: ignore[no-untyped-def]
        return request.method

    with TestClient(app) as client:
        assert client.get("/typed").text == "/typed"
        assert client.get("/bare").text == "GET"


def test_star_args_is_a_configuration_error(app: App) -> None:
    @app.get("/x")
    def star(*args: Any) -> str:
        return ""

    with pytest.raises(ConfigurationError, match=r"star: \*args/\*\*kwargs are not supported"):
        app.build()


def test_path_param_missing_from_the_signature_is_a_configuration_error(app: App) -> None:
    @app.get("/items/<int:id>")
    def show_item() -> str:
        return ""

    with pytest.raises(ConfigurationError, match=r"show_item does not accept the path param.*id"):
        app.build()
