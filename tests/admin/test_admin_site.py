"""AdminSite: registration, start-up checks, who gets in, templates, static files, CSRF,
mounting on any app, and list pages that cost the same number of queries at any size."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from adminsite import (
    Label,
    Post,
    Site,
    Writer,
    csrf_from,
    make_site,
    seed,
)

from kettle import App, Settings
from kettle.admin import AdminSite, ModelAdmin, TabularInline
from kettle.db import Database
from kettle.exceptions import ConfigurationError, HTTPException
from kettle.testing import TestClient

HTML = {"accept": "text/html"}


# --- the registry -------------------------------------------------------------------------------
def test_register_plain_and_as_decorator(tmp_path: Path) -> None:
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    admin = AdminSite(app)
    admin.register(Label)
    assert type(admin.admin_for(Label)) is ModelAdmin

    @admin.register(Writer)
    class WriterAdmin(ModelAdmin):
        list_display = ["name"]

    assert isinstance(admin.admin_for(Writer), WriterAdmin)
    assert admin.is_registered(Writer)
    assert [a.slug for a in admin.admins()] == ["label", "writer"]
    assert admin.by_slug("writer").name_plural == "writers"
    with pytest.raises(HTTPException) as missing:
        admin.by_slug("post")
    assert missing.value.status == 404
    admin.unregister(Writer)
    assert not admin.is_registered(Writer)
    with pytest.raises(TypeError, match="decorates ModelAdmin classes"):
        admin.register(Writer)(object)  # type: ignore[type-var]


def test_two_models_with_one_table_name_are_refused(tmp_path: Path) -> None:
    admin = AdminSite()
    admin.register(Label)
    impostor: Any = type("Impostor", (), {"__tablename__": "label"})
    with pytest.raises(ConfigurationError, match=r"\[admin.E002\] Impostor and Label"):
        admin.register(impostor)


def test_checks_name_every_problem(tmp_path: Path) -> None:
    class Broken(ModelAdmin):
        list_display = ["title", "titel", "labels"]
        search_fields = ["body", "writer__nickname"]
        list_filter = ["score"]
        ordering = ["-popularity"]
        fields = ["title", "subtitle"]
        readonly_fields = ["missing"]
        autocomplete_fields = ["section", "title"]
        actions = ["no_such_method"]

    class OrphanInline(TabularInline):
        model = Writer

    class WithInline(ModelAdmin):
        inlines = [OrphanInline]

    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}")
    site.admin.register(Post, Broken)
    site.admin.register(Label, WithInline)
    with pytest.raises(ConfigurationError) as error:
        site.admin.check()
    text = str(error.value)
    for expected in (
        "[admin.E101] Broken.list_display: Broken: 'titel' is neither a field",
        "[admin.E101] Broken.list_display: 'labels' is a many-to-many link",
        "[admin.E102] Broken.search_fields: Writer has no field 'nickname'",
        "[admin.E103] list_filter of Post names 'score', a integer field",
        "[admin.E104] Broken.ordering: Post has no field 'popularity'",
        "[admin.E105] Broken.fields: 'subtitle' is not a field of Post",
        "[admin.E105] Broken.readonly_fields: 'missing' is not a field of Post",
        "[admin.E106] Broken.autocomplete_fields: 'section' needs Section registered",
        "[admin.E106] Broken.autocomplete_fields: 'title' is not a to-one relation",
        "[admin.E107] Writer has no relations to Label",
        "[admin.E108] Broken.actions: Broken has no method 'no_such_method'",
    ):
        assert expected in text, expected


def test_the_app_refuses_to_start_when_misconfigured(tmp_path: Path) -> None:
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    AdminSite(app)
    with pytest.raises(ConfigurationError) as error:
        TestClient(app).__enter__()
    assert "[admin.E001] The admin needs kettle.db" in str(error.value)
    assert "[admin.E003] The admin needs kettle.auth" in str(error.value)


def test_the_test_site_passes_its_checks(sqlite_site: Site) -> None:
    sqlite_site.admin.check()


# --- who gets in ----------------------------------------------------------------------------------
def test_anonymous_visitors_go_to_the_login_page(site: Site) -> None:
    with TestClient(site.app) as client:
        response = client.get("/admin/post/?q=tea")
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/login?next=%2Fadmin%2Fpost%2F%3Fq%3Dtea"
        assert client.get("/admin/").headers["location"] == "/auth/login?next=%2Fadmin%2F"
        assert client.post("/admin/post/add", data={"title": "x"}).status_code == 303


def test_users_who_are_not_staff_get_a_403(site: Site) -> None:
    site.user("reader", staff=False, perms=["post.view"])
    client = site.client("reader")
    try:
        response = client.get("/admin/post/")
        assert response.status_code == 403
        assert "You are signed in as reader, who is not staff" in response.json()["detail"]
        page = client.get("/admin/", headers=HTML)
        assert page.status_code == 403
        assert "Not allowed" in page.text
        assert "Back to the dashboard" not in page.text  # which they cannot open
        assert 'href="/auth/login?next=/admin/">Sign in as someone else' in page.text
    finally:
        client.__exit__(None, None, None)


def test_staff_without_permissions_see_an_empty_dashboard(site: Site) -> None:
    site.user("ed")
    client = site.client("ed")
    try:
        page = client.get("/admin/")
        assert page.status_code == 200
        assert "You may not view any model" in page.text
        assert client.get("/admin/post/").status_code == 403
    finally:
        client.__exit__(None, None, None)


def test_sign_out_button_posts_to_auth(site: Site, root: TestClient) -> None:
    page = root.get("/admin/")
    assert '<form method="post" action="/auth/logout"' in page.text
    response = root.post(
        "/auth/logout", data={"next": "/admin/", "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 303
    assert root.get("/admin/").status_code == 303  # anonymous again


# --- templates and static files -------------------------------------------------------------------
def test_project_templates_come_first(sqlite_site: Site, tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "admin"
    (folder / "post").mkdir(parents=True)
    (folder / "post" / "change_list.html").write_text(
        '{% extends "admin/change_list.html" %}{% block content %}Custom: '
        "{{ cl.count }} posts{% endblock %}"
    )
    (folder / "index.html").write_text("Our own dashboard, {{ user_name }}.")
    seed(sqlite_site.db, 2)
    sqlite_site.user("root", superuser=True)
    client = sqlite_site.client("root")
    try:
        assert client.get("/admin/").text == "Our own dashboard, root."
        listing = client.get("/admin/post/").text
        assert "Custom: 2 posts" in listing
        assert "Skip to content" in listing  # the admin's base.html still frames it
        assert "Writers" in client.get("/admin/writer/").text
    finally:
        client.__exit__(None, None, None)


def test_a_model_admin_may_name_its_template(sqlite_site: Site, tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "labels.html").write_text("{{ cl.count }} labels, custom")

    class CustomLabels(ModelAdmin):
        change_list_template = "labels.html"

    sqlite_site.admin.register(Label, CustomLabels)
    sqlite_site.user("root", superuser=True)
    client = sqlite_site.client("root")
    try:
        assert client.get("/admin/label/").text == "0 labels, custom"
    finally:
        client.__exit__(None, None, None)


@pytest.mark.parametrize("path", ["/admin/static/admin.css", "/admin/static/admin.js"])
def test_static_files(sqlite_site: Site, path: str) -> None:
    with TestClient(sqlite_site.app) as client:
        response = client.get(path)
        assert response.status_code == 200
        assert len(response.content) > 1000


def test_pages_link_the_css_and_js_and_a_skip_link(site: Site, root: TestClient) -> None:
    page = root.get("/admin/").text
    assert 'href="/admin/static/admin.css"' in page
    assert 'src="/admin/static/admin.js" defer' in page
    assert '<a class="skip-link" href="#main">Skip to content</a>' in page
    assert '<main id="main" tabindex="-1">' in page


# --- CSRF -----------------------------------------------------------------------------------------
def test_every_form_needs_the_csrf_token(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    root.enforce_csrf = True  # posts as written: no token filled in by the test client
    for url, data in (
        ("/admin/post/add", {"title": "x", "writer": str(made["ann"].id)}),
        (f"/admin/post/{post.id}/change", {"title": "x"}),
        (f"/admin/post/{post.id}/delete", {"post": "yes"}),
        ("/admin/post/", {"action": "delete_selected", "_selected": [str(post.id)], "post": "yes"}),
    ):
        response = root.post(url, data=data)
        assert response.status_code == 403, url
        assert "CSRF" in response.text
    with site.db.session():
        assert Post.objects.get(id=post.id).title == "Post 1"
    for url in ("/admin/", "/admin/post/", "/admin/post/add", f"/admin/post/{post.id}/change"):
        assert 'name="csrf_token"' in root.get(url).text, url


# --- mounting -------------------------------------------------------------------------------------
def test_mounts_on_any_app_under_any_prefix(tmp_path: Path) -> None:
    from kettle.auth import Argon2Hasher, Auth, AuthOptions

    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)

    @app.get("/")
    def home() -> str:
        return "The site itself"

    db = Database(app, url=f"sqlite:///{tmp_path / 'one.sqlite3'}")
    Auth(app, options=AuthOptions(hasher=Argon2Hasher(memory_cost=256, time_cost=1)))
    staff = AdminSite(app, prefix="/staff", name="staff", title="Back office")
    staff.register(Label)
    db.create_all()
    with TestClient(app) as client:
        assert client.get("/").text == "The site itself"
        redirect = client.get("/staff/label/")
        assert redirect.headers["location"] == "/auth/login?next=%2Fstaff%2Flabel%2F"
        assert client.get("/staff/static/admin.css").status_code == 200
    assert app.url_for("staff.changelist", model="label") == "/staff/label/"
    db.dispose()


# --- the cost of a list page ----------------------------------------------------------------------
@contextlib.contextmanager
def recorded(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the app runs inside the block, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    engines = [db.sync_engine, db.async_engine.sync_engine]
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", record)


def admin_statements(statements: list[tuple[str, Any]]) -> list[str]:
    """The queries the admin ran: kettle.auth's own (loading the user and their
    permissions) and transaction control (SQLite's BEGIN) left out."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return [
        s for s, _ in statements if "auth_" not in s and not s.lstrip().upper().startswith(control)
    ]


def add_posts(db: Database, count: int) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.session() as session:
        writer, _ = Writer.objects.get_or_create(name="Prolific")
        session.execute(
            sa.insert(Post.__table__),
            [
                {
                    "title": f"Post {n}",
                    "body": "",
                    "status": "draft",
                    "featured": False,
                    "score": n,
                    "secret": "",
                    "created": now,
                    "writer_id": writer.id,
                }
                for n in range(count)
            ],
        )


@pytest.mark.parametrize(
    "query", ["", "?p=2", "?o=-score", "?q=post&status__exact=draft", "?featured__exact=0"]
)
def test_list_pages_run_a_constant_number_of_statements(
    site: Site, root: TestClient, query: str
) -> None:
    add_posts(site.db, 30)
    with recorded(site.db) as small:
        assert root.get(f"/admin/post/{query}").status_code == 200
    add_posts(site.db, 470)
    with recorded(site.db) as large:
        assert root.get(f"/admin/post/{query}").status_code == 200
    assert len(small) == len(large)
    # A bounded count, the page of rows with their writers joined, the writer filter.
    assert len(admin_statements(large)) <= 4, admin_statements(large)


@pytest.mark.server
def test_a_page_of_100_000_rows_on_postgresql(tmp_path: Path, engine_urls: Any) -> None:
    url = engine_urls["postgresql"]
    if url is None:
        pytest.skip("no postgresql server here (set CI=true to make this an error)")
    site = make_site(tmp_path, url)
    site.db.drop_all()
    site.db.create_all()
    try:
        with site.db.session() as session:
            writer = Writer.objects.create(name="Prolific")
            session.execute(
                sa.text(
                    "INSERT INTO post (title, body, status, featured, score, secret, created, "
                    "writer_id) SELECT 'Post ' || n, '', 'draft', n % 7 = 0, n, '', "
                    "now() - n * interval '1 minute', :writer FROM generate_series(1, 100000) n"
                ),
                {"writer": writer.id},
            )
        with site.db.sync_engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE post")
        site.user("root", superuser=True)
        client = site.client("root")
        try:
            for query in ("", "?p=500", "?o=-created", "?featured__exact=1"):
                with recorded(site.db) as statements:
                    page = client.get(f"/admin/post/{query}")
                assert page.status_code == 200, query
                assert "10,000+ posts" in page.text
                assert len(admin_statements(statements)) <= 4, query
            with recorded(site.db) as statements:
                client.get("/admin/post/?p=3")
            [(select, parameters)] = [
                (s, p)
                for s, p in statements
                if "FROM post" in s and "LIMIT" in s and "count" not in s
            ]
            with site.db.sync_engine.connect() as connection:
                plan = "\n".join(
                    row[0] for row in connection.exec_driver_sql("EXPLAIN " + select, parameters)
                )
            assert "Index Scan Backward using pk_post" in plan, plan
        finally:
            client.__exit__(None, None, None)
    finally:
        site.db.drop_all()
        site.db.dispose()
