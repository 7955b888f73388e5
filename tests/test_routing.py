"""Routing: decorators, converters, url_for, precedence, 404/405/OPTIONS/HEAD, groups, mounts."""

import uuid
from typing import Any

import pytest

from kettle import App, Group, Request
from kettle._types import Receive, Scope, Send
from kettle.converters import Converter
from kettle.exceptions import ConfigurationError
from kettle.testing import TestClient


@pytest.fixture
def app() -> App:
    return App()


# --- decorators ---------------------------------------------------------------------------
def test_each_method_decorator_registers_its_verb(app: App) -> None:
    @app.get("/r")
    def read() -> str:
        return "get"

    @app.post("/r")
    def create() -> str:
        return "post"

    @app.put("/r")
    def replace() -> str:
        return "put"

    @app.patch("/r")
    def update() -> str:
        return "patch"

    @app.delete("/r")
    def remove() -> str:
        return "delete"

    @app.route("/multi", methods=["get", "post"])
    def multi(request: Request) -> str:
        return request.method

    with TestClient(app) as client:
        for verb in ("get", "post", "put", "patch", "delete"):
            response = client.request(verb.upper(), "/r")
            assert response.status_code == 200
            assert response.text == verb
        assert client.get("/multi").text == "GET"
        assert client.post("/multi").text == "POST"
        assert client.put("/multi").status_code == 405


# --- converters -----------------------------------------------------------------------
@pytest.fixture
def seen(app: App) -> dict[str, Any]:
    """One route per built-in converter; each records the value it received."""
    seen: dict[str, Any] = {}

    @app.get("/s/<name>")
    def s(name: str) -> str:
        seen["str"] = name
        return "ok"

    @app.get("/i/<int:n>")
    def i(n: int) -> str:
        seen["int"] = n
        return "ok"

    @app.get("/f/<float:x>")
    def f(x: float) -> str:
        seen["float"] = x
        return "ok"

    @app.get("/u/<uuid:key>")
    def u(key: uuid.UUID) -> str:
        seen["uuid"] = key
        return "ok"

    @app.get("/g/<slug:slug>")
    def g(slug: str) -> str:
        seen["slug"] = slug
        return "ok"

    @app.get("/p/<path:rest>")
    def p(rest: str) -> str:
        seen["path"] = rest
        return "ok"

    return seen


def test_builtin_converters_parse_their_values(app: App, seen: dict[str, Any]) -> None:
    key = uuid.uuid4()
    with TestClient(app) as client:
        for url in ("/s/hello", "/i/42", "/f/2.5", f"/u/{key}", "/g/my-post_1", "/p/a/b/c.txt"):
            assert client.get(url).status_code == 200, url
    assert seen == {
        "str": "hello",
        "int": 42,
        "float": 2.5,
        "uuid": key,
        "slug": "my-post_1",
        "path": "a/b/c.txt",
    }
    assert type(seen["int"]) is int
    assert isinstance(seen["uuid"], uuid.UUID)


@pytest.mark.parametrize(
    "url", ["/i/abc", "/i/-1", "/f/1.", "/u/not-a-uuid", "/g/no.dots", "/s/a/b", "/p/"]
)
def test_a_value_the_converter_refuses_is_a_404(app: App, seen: dict[str, Any], url: str) -> None:
    with TestClient(app) as client:
        assert client.get(url).status_code == 404
    assert seen == {}


def test_user_registered_converter(app: App) -> None:
    app.add_converter("year", Converter(r"[0-9]{4}", int, str))

    @app.get("/archive/<year:y>")
    def archive(y: int) -> dict[str, Any]:
        return {"year": y, "type": type(y).__name__}

    with TestClient(app) as client:
        assert client.get("/archive/2024").json() == {"year": 2024, "type": "int"}
        assert client.get("/archive/24").status_code == 404
    assert app.url_for("archive", y=1999) == "/archive/1999"


def test_unknown_converter_is_a_configuration_error_naming_it(app: App) -> None:
    @app.get("/x/<colour:c>")
    def x(c: str) -> str:
        return c

    with pytest.raises(ConfigurationError, match="unknown converter 'colour'"):
        app.build()


# --- url_for ----------------------------------------------------------------------------
def test_url_for_fills_params_and_puts_extras_in_the_query(app: App) -> None:
    @app.get("/articles/<int:id>/<slug:slug>")
    def article(id: int, slug: str) -> str:
        return ""

    @app.get("/files/<path:rest>", name="download")
    def files(rest: str) -> str:
        return ""

    assert app.url_for("article", id=7, slug="hi") == "/articles/7/hi"
    assert app.url_for("article", id=7, slug="hi", page=2, tag=["a", "b"]) == (
        "/articles/7/hi?page=2&tag=a&tag=b"
    )
    assert app.url_for("download", rest="a b/c.txt") == "/files/a%20b/c.txt"


def test_url_for_small_and_large_floats(app: App) -> None:
    @app.get("/f/<float:x>")
    def f(x: float) -> str:
        return str(x)

    assert app.url_for("f", x=0.00001) == "/f/0.00001"


def test_url_for_groups_and_nested_groups(app: App) -> None:
    blog = Group("blog", prefix="/blog")
    api = Group("api", prefix="/api")
    v1 = Group("v1", prefix="/v1")

    @blog.get("/")
    def index() -> str:
        return ""

    @v1.get("/items/<int:id>")
    def item(id: int) -> str:
        return ""

    api.include(v1)
    app.include(blog)
    app.include(api)
    assert app.url_for("blog.index") == "/blog/"
    assert app.url_for("api.v1.item", id=3) == "/api/v1/items/3"


def test_url_for_missing_param_and_unknown_name(app: App) -> None:
    blog = Group("blog", prefix="/blog")

    @blog.get("/<int:id>")
    def show(id: int) -> str:
        return ""

    app.include(blog)
    with pytest.raises(LookupError, match=r"needs a value for <id>"):
        app.url_for("blog.show")
    with pytest.raises(LookupError, match=r"No route is named 'show'.*Did you mean 'blog.show'"):
        app.url_for("show")
    with pytest.raises(LookupError, match="No route is named 'nothing'"):
        app.url_for("nothing")


# --- matching ----------------------------------------------------------------------------
def test_static_path_wins_over_a_dynamic_one_declared_first(app: App) -> None:
    @app.get("/users/<name>")
    def user(name: str) -> str:
        return f"user {name}"

    @app.get("/users/me")
    def me() -> str:
        return "me"

    with TestClient(app) as client:
        assert client.get("/users/me").text == "me"
        assert client.get("/users/bob").text == "user bob"


def test_other_methods_fall_through_to_a_matching_dynamic_route(app: App) -> None:
    @app.get("/users/me")
    def me() -> str:
        return "me"

    @app.post("/users/<name>")
    def rename(name: str) -> str:
        return f"renamed {name}"

    with TestClient(app) as client:
        assert client.post("/users/me").text == "renamed me"
        assert client.get("/users/me").text == "me"
        response = client.delete("/users/me")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"


def test_duplicate_method_at_a_path_is_a_configuration_error(app: App) -> None:
    @app.get("/x")
    def first() -> str:
        return ""

    @app.route("/x", methods=["GET", "POST"])
    def second() -> str:
        return ""

    with pytest.raises(ConfigurationError, match="GET /x is declared twice"):
        app.build()


def test_not_found_is_json(app: App) -> None:
    with TestClient(app) as client:
        response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": 404,
        "error": "Not Found",
        "detail": "Nothing is served at /nowhere.",
    }


def test_wrong_method_is_405_with_allow(app: App) -> None:
    @app.route("/thing", methods=["GET", "PUT"])
    def thing() -> str:
        return "thing"

    @app.post("/only-post")
    def only_post() -> str:
        return ""

    with TestClient(app) as client:
        response = client.delete("/thing")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD, OPTIONS, PUT"
        assert response.json()["detail"] == "DELETE is not allowed here."
        head = client.head("/only-post")
        assert head.status_code == 405
        assert head.headers["allow"] == "OPTIONS, POST"


def test_automatic_options(app: App) -> None:
    @app.route("/thing", methods=["GET", "POST"])
    def thing() -> str:
        return "thing"

    with TestClient(app) as client:
        response = client.options("/thing")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert response.content == b""


def test_head_answers_with_the_get_headers_and_no_body(app: App) -> None:
    @app.get("/page")
    def page() -> str:
        return "<p>héllo</p>"

    with TestClient(app) as client:
        get = client.get("/page")
        head = client.head("/page")
    assert head.status_code == 200
    assert head.content == b""
    assert (
        head.headers["content-length"]
        == str(len("<p>héllo</p>".encode()))
        == (get.headers["content-length"])
    )
    assert head.headers["content-type"] == "text/html; charset=utf-8"


def test_trailing_slash_redirects_with_308_and_keeps_the_query(app: App) -> None:
    @app.get("/articles")
    def articles() -> str:
        return "list"

    @app.get("/docs/")
    def docs() -> str:
        return "docs"

    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/articles/?page=2&q=a+b")
        assert response.status_code == 308
        assert response.headers["location"] == "/articles?page=2&q=a+b"
        response = client.get("/docs")
        assert response.status_code == 308
        assert response.headers["location"] == "/docs/"
        assert client.post("/articles/").status_code == 404


# --- mounts and groups -----------------------------------------------------------------
def test_mounted_app_sees_root_path_and_the_rest_of_the_path(app: App) -> None:
    seen: list[tuple[str, str]] = []

    async def legacy(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope["root_path"], scope["path"]))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-legacy", b"1")]})
        await send({"type": "http.response.body", "body": b"legacy"})

    app.mount("/legacy", legacy)
    with TestClient(app) as client:
        response = client.get("/legacy/a/b?x=1")
        bare = client.get("/legacy?x=1")
        assert (bare.status_code, bare.headers["location"]) == (308, "/legacy/?x=1")
        assert client.get("/legacyish").status_code == 404
    assert response.text == "legacy"
    assert response.headers["x-legacy"] == "1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert seen == [("/legacy", "/a/b")]


def test_group_prefix_and_hooks_apply_only_to_its_routes(app: App) -> None:
    admin = Group("admin", prefix="/admin")
    calls: list[str] = []

    @admin.before_request
    def require_key(request: Request) -> Any:
        calls.append(f"before {request.path}")
        if request.headers.get("x-key") != "secret":
            return {"error": "forbidden"}, 403
        return None

    @admin.after_request
    def mark(request: Request, response: Any) -> Any:
        response.set_header("x-admin", "yes")
        return response

    @admin.get("/panel")
    def panel() -> str:
        return "panel"

    @app.get("/panel")
    def public() -> str:
        return "public"

    app.include(admin)
    with TestClient(app) as client:
        assert client.get("/admin/panel").status_code == 403
        ok = client.get("/admin/panel", headers={"x-key": "secret"})
        public_response = client.get("/panel")
    assert ok.text == "panel"
    assert ok.headers["x-admin"] == "yes"
    assert public_response.text == "public"
    assert "x-admin" not in public_response.headers
    assert calls == ["before /admin/panel", "before /admin/panel"]


def test_group_error_handlers_override_the_apps(app: App) -> None:
    api = Group("api", prefix="/api")

    @app.errorhandler(ValueError)
    def app_handler(request: Request, exc: Exception) -> Any:
        return "app handled", 400

    @api.errorhandler(ValueError)
    def api_handler(request: Request, exc: Exception) -> Any:
        return {"api": str(exc)}, 409

    @api.get("/fail")
    def api_fail() -> str:
        raise ValueError("bad api")

    @app.get("/fail")
    def app_fail() -> str:
        raise ValueError("bad app")

    app.include(api)
    with TestClient(app) as client:
        api_response = client.get("/api/fail")
        app_response = client.get("/fail")
    assert api_response.status_code == 409
    assert api_response.json() == {"api": "bad api"}
    assert app_response.status_code == 400
    assert app_response.text == "app handled"
