"""Links made in a request keep the app's root path: ``request.url_for`` and templates'
``url_for``/``static`` under a server's root path, a Kettle mount and a kettle.i18n language
prefix (which links keep and static files drop); ``app.url_for`` stays the path inside
the app."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from kettle import App, RedirectResponse, Request, Settings, render
from kettle.i18n import I18n
from kettle.testing import TestClient

PAGE = (
    "{{ url_for('article', id=7) }}|{{ static('site.css') }}"
    "|{{ url_for('static', path='a b.css') }}"
)


def make_app(root: Path) -> App:
    (root / "templates").mkdir(parents=True)
    (root / "static").mkdir()
    (root / "static" / "site.css").write_text("body {}")
    (root / "templates" / "page.html").write_text(PAGE)
    app = App(root=root, settings=Settings.load(env_file=None, environ={}, env="testing"))

    @app.get("/articles/<int:id>", name="article")
    def article(id: int) -> str:
        return f"article {id}"

    @app.get("/page")
    def page() -> object:
        return render("page.html")

    @app.get("/where")
    def where(request: Request) -> str:
        files = request.url_for("static", path="x.css")
        return f"{request.url_for('article', id=3)}|{files}|{request.app.url_for('article', id=3)}"

    @app.get("/go")
    def go(request: Request) -> RedirectResponse:
        return RedirectResponse(request.url_for("article", id=1))

    return app


@pytest.fixture
def app(tmp_path: Path) -> App:
    return make_app(tmp_path / "site")


def links(client: TestClient, prefix: str) -> tuple[str, str, str]:
    page = client.get(f"{prefix}/page")
    assert page.status_code == 200, page.text
    where = client.get(f"{prefix}/where")
    assert where.status_code == 200, where.text
    go = client.get(f"{prefix}/go", follow_redirects=False)
    return page.text, where.text, go.headers["location"]


def test_at_the_sites_root_links_are_the_apps_paths(app: App) -> None:
    with TestClient(app) as client:
        page, where, go = links(client, "")
    assert page == "/articles/7|/static/site.css|/static/a%20b.css"
    assert where == "/articles/3|/static/x.css|/articles/3"
    assert go == "/articles/1"


def test_under_a_servers_root_path(app: App) -> None:
    # As uvicorn --root-path /app sends it: the full path, root path included.
    with TestClient(app, root_path="/app") as client:
        page, where, go = links(client, "/app")
        assert client.get("/app/static/site.css").text == "body {}"
        assert client.get(go).text == "article 1"
        # A slash too many: the 308 keeps the root path.
        slash = client.get("/app/page/", follow_redirects=False)
        assert slash.headers["location"] == "/app/page"
        # A server that sends the rest of the path only (the older reading) is served too.
        assert client.get("/where").text == where
    assert page == "/app/articles/7|/app/static/site.css|/app/static/a%20b.css"
    assert where == "/app/articles/3|/app/static/x.css|/articles/3"  # app.url_for: inside
    assert go == "/app/articles/1"


def test_under_a_kettle_mount(app: App, tmp_path: Path) -> None:
    site = App(root=tmp_path, settings=Settings.load(env_file=None, environ={}, env="testing"))
    site.mount("/blog", app)
    with TestClient(site) as client:
        page, where, go = links(client, "/blog")
        assert client.get("/blog/static/site.css").text == "body {}"
        assert client.get(go).text == "article 1"
    with TestClient(site, root_path="/app") as client:
        assert links(client, "/app/blog")[0].startswith("/app/blog/articles/7|/app/blog/static/")
        bare = client.get("/app/blog", follow_redirects=False)
        assert bare.headers["location"] == "/app/blog/"  # the mount's slash, under the root
    assert page == "/blog/articles/7|/blog/static/site.css|/blog/static/a%20b.css"
    assert where == "/blog/articles/3|/blog/static/x.css|/articles/3"
    assert go == "/blog/articles/1"


def test_a_language_prefix_stays_on_links_and_off_static_files(app: App) -> None:
    I18n(app, languages=["en", "fr"])
    with TestClient(app) as client:
        page, where, go = links(client, "/fr")
        english = links(client, "")
        # A redirect to app.url_for's path gets the language put back (kettle.i18n).
        assert client.get("/fr/page/", follow_redirects=False).headers["location"] == "/fr/page"
    assert page == "/fr/articles/7|/static/site.css|/static/a%20b.css"
    assert where == "/fr/articles/3|/static/x.css|/articles/3"
    assert go == "/fr/articles/1"  # not /fr/fr/...
    assert english == (
        "/articles/7|/static/site.css|/static/a%20b.css",
        "/articles/3|/static/x.css|/articles/3",
        "/articles/1",
    )


def test_a_language_prefix_under_a_root_path_and_a_mount(app: App, tmp_path: Path) -> None:
    site = App(root=tmp_path, settings=Settings.load(env_file=None, environ={}, env="testing"))
    I18n(site, languages=["en", "fr"])

    @site.get("/latest")
    def latest() -> RedirectResponse:
        return RedirectResponse(site.url_for("latest") + "?page=2")

    site.mount("/blog", app)
    with TestClient(site, root_path="/app") as client:
        page, where, go = links(client, "/app/fr/blog")
        assert client.get(go).text == "article 1"
        latest = client.get("/app/fr/latest", follow_redirects=False)
    assert page == "/app/fr/blog/articles/7|/app/blog/static/site.css|/app/blog/static/a%20b.css"
    assert where == "/app/fr/blog/articles/3|/app/blog/static/x.css|/articles/3"
    assert go == "/app/fr/blog/articles/1"
    # app.url_for's path: outside the app's root, left as it is (no /fr/app/...).
    assert latest.headers["location"] == "/latest?page=2"


def test_templates_rendered_without_a_request_use_the_apps_paths(app: App) -> None:
    app.build()
    assert app.templates.render_string("page.html") == (
        "/articles/7|/static/site.css|/static/a%20b.css"
    )


def test_an_environment_of_ones_own_finds_the_request_in_its_variables(app: App) -> None:
    env = app.templates.environment().overlay()
    page = env.from_string("{{ url_for('article', id=2) }} {{ static('site.css') }}")

    @app.get("/own")
    def own(request: Request) -> str:
        return page.render(request=request)

    I18n(app, languages=["en", "fr"])
    with TestClient(app, root_path="/app") as client:
        assert client.get("/app/fr/own").text == "/app/fr/articles/2 /app/static/site.css"


def test_an_unknown_name_is_still_a_clear_error(app: App, caplog: pytest.LogCaptureFixture) -> None:
    @app.get("/broken")
    def broken(request: Request) -> str:
        return request.url_for("articel")

    with TestClient(app, root_path="/app") as client:
        assert client.get("/app/broken").status_code == 500
    assert "No route is named 'articel'." in caplog.text


def test_a_stand_in_request_gets_the_apps_paths(app: App) -> None:
    # A fragment rendered once for every reader (the news site's live comments) passes
    # an object of its own as "request": links are then the app's paths.
    app.build()
    page = app.templates.environment().get_template("page.html")
    stand_in = SimpleNamespace(state=SimpleNamespace(user=None))
    assert page.render(request=stand_in) == "/articles/7|/static/site.css|/static/a%20b.css"


def test_a_path_that_only_starts_like_the_root_path_is_not_cut() -> None:
    # uvicorn sends the full path; only "/shop" or "/shop/..." lies under a /shop root.
    app = App(settings=Settings.load(env="testing", env_file=None))

    @app.get("/<path:rest>")
    def anything(rest: str) -> str:
        return rest

    with TestClient(app, root_path="/shop") as client:
        assert client.get("/shop/ping").text == "ping"
        assert client.get("/shopping/list").text == "shopping/list"
        assert client.get("/shop%2Fx/y").status_code == 200  # decoded, as Starlette does
        assert client.get("/" + "s" * 5000).status_code == 200
        assert client.get("/shop/١٢٣").text == "١٢٣"
