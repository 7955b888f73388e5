"""url_for's builders, made once per route at start-up (issue #13): the shortcuts they take
for ids and plain text give the same URLs as the careful path, and refuse what it refuses."""

from __future__ import annotations

import enum
from pathlib import Path

import pytest

from kettle import App, Group
from kettle.converters import Converter


class Colour(enum.IntEnum):
    RED = 1


@pytest.fixture
def app(tmp_path: Path) -> App:
    (tmp_path / "static").mkdir()
    app = App(root=tmp_path)

    @app.get("/articles/<int:id>")
    def article(id: int) -> str:
        return ""

    @app.get("/people/<name>")
    def person(name: str) -> str:
        return ""

    @app.get("/files/<path:rest>")
    def files(rest: str) -> str:
        return ""

    @app.get("/")
    def front() -> str:
        return ""

    return app


@pytest.mark.parametrize(
    ("params", "url"),
    [
        ({"id": 7}, "/articles/7"),
        ({"id": 0}, "/articles/0"),
        ({"id": "12"}, "/articles/12"),  # text that fits is taken as it is
        ({"id": Colour.RED}, "/articles/1"),  # an int subclass goes the careful way
        ({"id": 7, "page": 2}, "/articles/7?page=2"),
    ],
)
def test_int_parameters(app: App, params: dict[str, object], url: str) -> None:
    assert app.url_for("article", **params) == url


@pytest.mark.parametrize("value", [-1, True, 1.5, "x1"])
def test_int_parameters_refuse_what_does_not_fit(app: App, value: object) -> None:
    with pytest.raises(LookupError, match=r"url_for\('article'\).*<id>"):
        app.url_for("article", id=value)


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("ann", "/people/ann"),
        ("Ann_B.c-d~e", "/people/Ann_B.c-d~e"),  # unreserved: left as they are
        ("ann b", "/people/ann%20b"),
        ("zoë", "/people/zo%C3%AB"),
        ("a?b#c", "/people/a%3Fb%23c"),
    ],
)
def test_text_parameters_are_quoted_when_they_need_it(app: App, name: str, url: str) -> None:
    assert app.url_for("person", name=name) == url


def test_a_path_parameter_keeps_its_slashes(app: App) -> None:
    assert app.url_for("files", rest="a/b c/d.txt") == "/files/a/b%20c/d.txt"
    assert app.url_for("files", rest="a/b/c.txt") == "/files/a/b/c.txt"


def test_a_path_without_parameters(app: App) -> None:
    assert app.url_for("front") == "/"
    assert app.url_for("front", q="tea pot", tag=["a", "b"]) == "/?q=tea+pot&tag=a&tag=b"


def test_a_converter_named_int_of_ones_own_is_used(tmp_path: Path) -> None:
    app = App(root=tmp_path)
    app.add_converter("int", Converter(r"[0-9]{4}", int, lambda v: f"{v:04d}"))

    @app.get("/years/<int:year>")
    def year(year: int) -> str:
        return ""

    assert app.url_for("year", year=7) == "/years/0007"


def test_static_urls(app: App) -> None:
    assert app.static_url("site.css") == "/static/site.css"
    assert app.static_url("/css/a b.css") == "/static/css/a%20b.css"
    # Asked again, from the kept URLs: the same answer.
    assert app.static_url("/css/a b.css") == "/static/css/a%20b.css"
    assert app.url_for("static", path="js/app.js") == "/static/js/app.js"
    assert app.url_for("static") == "/static/"


def test_static_urls_past_the_kept_ones_are_still_right(app: App) -> None:
    urls = [app.static_url(f"img/{n} x.png") for n in range(1100)]

    assert urls[0] == "/static/img/0%20x.png"
    assert urls[-1] == "/static/img/1099%20x.png"
    assert app.static_url("img/1099 x.png") == "/static/img/1099%20x.png"


def test_group_static_files_and_a_route_named_static(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "blog" / "static").mkdir(parents=True)
    app = App(root=tmp_path)
    blog = Group("blog", prefix="/blog", root=tmp_path / "blog", static="static")

    @blog.get("/static")
    def static() -> str:
        return ""

    @app.get("/about")
    def about() -> str:
        return ""

    app.include(blog)

    # The group's static files answer to "blog.static", as url_for always had it.
    assert app.url_for("blog.static", path="logo.png") == "/blog/static/logo.png"
    assert app.url_for("static", path="logo.png") == "/static/logo.png"
    assert app.url_for("about") == "/about"
