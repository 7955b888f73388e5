"""Templates: rendering, escaping, inheritance, helpers, flashes and per-group folders."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from kettle import App, Group, RedirectResponse, Request, Settings, flash, render
from kettle.testing import TestClient

FIXTURES = Path(__file__).parent / "fixtures"


def make_app(env: str = "testing", **settings: object) -> App:
    if env == "production":
        settings = {"secret_key": "k", "allowed_hosts": ["testserver"], **settings}
    return App(
        root=FIXTURES,
        templates="templates",
        settings=Settings.load(env_file=None, environ={}, env=env, **settings),
    )


@pytest.fixture
def app() -> App:
    app = make_app()

    @app.get("/child")
    def child(message: str = "hello") -> object:
        return render("child.html", message=message)

    @app.get("/articles/<int:id>")
    def show_article(id: int) -> str:
        return f"article {id}"

    @app.get("/search")
    def search() -> str:
        return "search"

    @app.get("/links")
    def links() -> object:
        return render("links.html")

    @app.get("/form")
    def form() -> object:
        return render("form.html")

    @app.get("/save")
    def save(request: Request) -> RedirectResponse:
        flash(request, "Saved <b>draft</b>.", "success")
        flash(request, "Check the spelling.")
        return RedirectResponse("/messages", status=303)

    @app.get("/messages")
    def messages() -> object:
        return render("flashes.html")

    @app.get("/created")
    def created() -> object:
        return render("child.html", status=201, headers={"X-Page": "child"}, message="made")

    @app.get("/tuple")
    def as_tuple() -> object:
        return render("child.html", message="accepted"), 202

    @app.get("/missing")
    def missing() -> object:
        return render("no/such/template.html")

    return app


def test_render_fills_the_context(client: TestClient) -> None:
    response = client.get("/child", params={"message": "tea time"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<p id="message">tea time</p>' in response.text
    assert int(response.headers["content-length"]) == len(response.content)


def test_autoescape_is_on(client: TestClient) -> None:
    response = client.get("/child", params={"message": "<script>alert('x')</script>"})

    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in response.text


def test_child_template_extends_base(client: TestClient) -> None:
    text = client.get("/child").text

    assert text.startswith("<!doctype html>")
    assert "<title>Child page</title>" in text
    assert '<body><p id="message">hello</p></body>' in text


def test_url_for_and_static_in_templates(client: TestClient) -> None:
    text = client.get("/links").text

    assert 'id="article" href="/articles/7"' in text
    assert 'id="search" href="/search?q=tea"' in text
    assert 'id="css" href="/static/site.css"' in text
    css = client.get("/static/site.css")
    assert css.status_code == 200
    assert "teal" in css.text


def test_csrf_helpers_in_templates(client: TestClient) -> None:
    response = client.get("/form")

    field = re.search(r'<input type="hidden" name="csrf_token" value="([\w-]+)">', response.text)
    raw = re.search(r'<span id="raw">([\w-]+)</span>', response.text)
    again = re.search(r'<span id="again">([\w-]+)</span>', response.text)
    assert field
    assert raw
    assert again
    # The page's forms share one token: the secret masked with this response's pad, 64
    # bytes in base64 without padding; the next response masks it with another pad.
    assert field[1] == raw[1] == again[1]
    assert len(field[1]) == 86
    assert field[1] not in client.get("/form").text
    # The secret behind the tokens lives in the session, so the page sets the cookie.
    assert "session" in response.cookies


def test_flashed_messages_survive_one_redirect(client: TestClient) -> None:
    redirect = client.get("/save")
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/messages"

    page = client.get("/messages").text
    assert '<li class="success">Saved &lt;b&gt;draft&lt;/b&gt;.</li>' in page
    assert '<li class="info">Check the spelling.</li>' in page
    assert page.index("success") < page.index("info")

    # Shown once: the next page has none left.
    assert "<li" not in client.get("/messages").text


def test_flashed_messages_need_the_session_cookie(app: App) -> None:
    with TestClient(app) as first:
        first.get("/save")
    with TestClient(app) as other:
        assert "<li" not in other.get("/messages").text


def test_render_with_status_and_headers(client: TestClient) -> None:
    response = client.get("/created")

    assert response.status_code == 201
    assert response.headers["x-page"] == "child"
    assert "made" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_render_in_a_tuple_takes_the_status(client: TestClient) -> None:
    response = client.get("/tuple")

    assert response.status_code == 202
    assert "accepted" in response.text


def test_missing_template_is_a_500(client: TestClient) -> None:
    response = client.get("/missing")

    assert response.status_code == 500
    assert "no/such/template.html" not in response.text


def test_missing_template_in_production_shows_no_details() -> None:
    app = make_app("production")

    @app.get("/")
    def index() -> object:
        return render("absent.html")

    with TestClient(app) as client:
        response = client.get("/", headers={"accept": "text/html"})

    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert "absent.html" not in response.text
    assert "Traceback" not in response.text


def test_missing_template_in_development_shows_the_name() -> None:
    app = make_app("development")

    @app.get("/")
    def index() -> object:
        return render("absent.html")

    with TestClient(app) as client:
        response = client.get("/", headers={"accept": "text/html"})

    assert response.status_code == 500
    assert "absent.html" in response.text


def test_template_global_and_filter() -> None:
    app = make_app()

    @app.template_global
    def greet(name: str) -> str:
        return f"Hello, {name}"

    @app.template_filter
    def shout(text: str) -> str:
        return text.upper() + "!"

    @app.get("/")
    def index() -> object:
        return render("helpers.html", name="<Ann>")

    with TestClient(app) as client:
        text = client.get("/").text

    # What globals and filters return is escaped like any other value.
    assert text.strip() == "Hello, &lt;Ann&gt;|&lt;ANN&gt;!"


@pytest.mark.parametrize("env", ["development", "testing"])
def test_an_undefined_variable_fails_in_development_and_in_tests(env: str) -> None:
    # A suite that passes must not hide the 500 that `kettle run` shows (issue #12).
    app = make_app(env)
    app.build()
    with pytest.raises(jinja2.UndefinedError, match="'message' is undefined"):
        app.templates.render_string("child.html")


def test_an_undefined_variable_renders_empty_in_production() -> None:
    app = make_app("production")
    app.build()
    assert '<p id="message"></p>' in app.templates.render_string("child.html")


def test_render_string_works_outside_a_request() -> None:
    app = make_app()
    app.build()

    text = app.templates.render_string("child.html", message="for an e-mail <3")

    assert "<title>Child page</title>" in text
    assert "for an e-mail &lt;3" in text


def test_context_variable_named_owner() -> None:
    app = make_app()

    @app.get("/repo")
    def repo() -> object:
        return render("owner.html", owner="ann")

    with TestClient(app) as client:
        response = client.get("/repo")

    assert response.status_code == 200
    assert "owned by ann" in response.text


# --- per-group template folders ---------------------------------------------------------
@pytest.fixture
def blog_app() -> App:
    app = make_app()
    blog = Group("blog", prefix="/blog", root=FIXTURES / "blog", templates="templates")
    plain = Group("plain", prefix="/plain")

    @app.get("/shared")
    def app_shared() -> object:
        return render("shared.html")

    @app.get("/blog-only")
    def app_blog_only() -> object:
        return render("blog_only.html")

    @blog.get("/shared")
    def blog_shared() -> object:
        return render("shared.html")

    @blog.get("/only")
    def blog_only() -> object:
        return render("blog_only.html")

    @blog.get("/child")
    def blog_child() -> object:
        return render("child.html", message="from the blog")

    @plain.get("/shared")
    def plain_shared() -> object:
        return render("shared.html")

    app.include(blog)
    app.include(plain)
    return app


def test_group_folder_overrides_app_templates(blog_app: App) -> None:
    with TestClient(blog_app) as client:
        assert client.get("/blog/shared").text.strip() == "shared from the blog"
        assert client.get("/shared").text.strip() == "shared from the app"


def test_group_only_template_extends_app_base(blog_app: App) -> None:
    with TestClient(blog_app) as client:
        response = client.get("/blog/only")

    assert response.status_code == 200
    assert "<title>Blog</title>" in response.text
    assert "only in the blog" in response.text


def test_group_handlers_fall_back_to_app_templates(blog_app: App) -> None:
    with TestClient(blog_app) as client:
        response = client.get("/blog/child")

    assert response.status_code == 200
    assert "from the blog" in response.text


def test_app_handlers_do_not_see_group_templates(blog_app: App) -> None:
    with TestClient(blog_app) as client:
        assert client.get("/blog-only").status_code == 500


def test_group_without_folder_uses_app_templates(blog_app: App) -> None:
    with TestClient(blog_app) as client:
        assert client.get("/plain/shared").text.strip() == "shared from the app"
