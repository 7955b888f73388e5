"""Guards on def and async def handlers and on route groups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site

from kettle import Group as Routes
from kettle import Request
from kettle.auth import (
    Group,
    Permission,
    User,
    get_user,
    guard,
    login_required,
    permission_required,
    role_required,
    sync_permissions,
)
from kettle.testing import TestClient

HTML = {"accept": "text/html"}


def add_routes(site: Site) -> None:
    app = site.app

    @app.get("/sync/login")
    @login_required
    def sync_login(request: Request) -> dict[str, str]:
        return {"user": get_user(request).username}

    @app.get("/async/login")
    @login_required
    async def async_login() -> dict[str, str]:  # no Request parameter of its own
        return {"ok": "yes"}

    @app.get("/sync/perm/<int:id>")
    @permission_required("auth_user.change")
    def sync_perm(id: int, q: str = "") -> dict[str, object]:
        return {"id": id, "q": q}

    @app.get("/async/perm")
    @permission_required("auth_user.change", "auth_user.view")
    async def async_perm(request: Request) -> dict[str, str]:
        return {"user": request.user.username}  # type: ignore[attr-defined]

    @app.get("/sync/role")
    @role_required("editor", "chief")
    def sync_role() -> str:
        return "editor page"

    @app.get("/async/role")
    @role_required("chief")
    async def async_role() -> str:
        return "chief page"

    @app.get("/stacked")
    @login_required
    @permission_required("auth_user.view")
    async def stacked(request: Request) -> str:
        return "stacked"

    editorial = Routes("editorial", prefix="/editorial")

    @editorial.get("/")
    async def desk() -> str:
        return "desk"

    @editorial.get("/plain")
    def plain() -> str:
        return "plain"

    guard(editorial, login_required, role_required("editor"))
    app.include(editorial)

    hooked = Routes("hooked", prefix="/hooked")
    hooked.before_request(login_required)  # the guard as a plain (sync) hook

    @hooked.get("/")
    def hooked_index() -> str:
        return "hooked"

    app.include(hooked)


@pytest.fixture
def guarded(site: Site) -> Site:
    add_routes(site)
    sync_permissions(site.db)
    with site.db.session():
        change = Permission.objects.get(codename="auth_user.change")
        view = Permission.objects.get(codename="auth_user.view")
        editors = Group.objects.create(name="editor", permissions=[view])
        editor = User(username="ed", groups=[editors], permissions=[change])
        editor.set_password("tea-at-altitude-1865")
        editor.save()
    site.user("bob")
    return site


def test_anonymous_api_clients_get_401_json(guarded: Site) -> None:
    with TestClient(guarded.app) as client:
        for path in ("/sync/login", "/async/login", "/sync/perm/1", "/async/role", "/editorial/"):
            response = client.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
            assert "Authentication required" in response.json()["detail"]


def test_anonymous_browsers_are_redirected_to_the_login_page(guarded: Site) -> None:
    with TestClient(guarded.app) as client:
        response = client.get("/sync/perm/7?q=tea kettles&x=1", headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == (
            "/auth/login?next=%2Fsync%2Fperm%2F7%3Fq%3Dtea%2520kettles%26x%3D1"
        )
        assert client.get("/async/login", headers=HTML).headers["location"] == (
            "/auth/login?next=%2Fasync%2Flogin"
        )
        assert client.get("/hooked/", headers=HTML).status_code == 303


def test_signed_in_users_pass_or_get_403(guarded: Site) -> None:
    with TestClient(guarded.app) as client:
        guarded.login(client, "bob")
        assert client.get("/sync/login").json() == {"user": "bob"}
        assert client.get("/async/login").json() == {"ok": "yes"}
        assert client.get("/hooked/").text == "hooked"
        for path in ("/sync/perm/1", "/async/perm", "/sync/role", "/async/role", "/stacked"):
            response = client.get(path)
            assert response.status_code == 403, path
            assert "not allowed" in response.json()["detail"]
        assert client.get("/editorial/").status_code == 403
        assert client.get("/editorial/plain").status_code == 403


def test_permissions_and_roles_let_the_right_users_in(guarded: Site) -> None:
    with TestClient(guarded.app) as client:
        guarded.login(client, "ed")
        assert client.get("/sync/perm/3?q=x").json() == {"id": 3, "q": "x"}
        assert client.get("/async/perm").json() == {"user": "ed"}
        assert client.get("/sync/role").text == "editor page"
        assert client.get("/async/role").status_code == 403  # not a chief
        assert client.get("/stacked").text == "stacked"
        assert client.get("/editorial/").text == "desk"
        assert client.get("/editorial/plain").text == "plain"


def test_superusers_pass_every_guard(guarded: Site) -> None:
    guarded.user("root", is_superuser=True)
    with TestClient(guarded.app) as client:
        guarded.login(client, "root")
        for path in ("/sync/perm/1", "/async/perm", "/sync/role", "/async/role", "/editorial/"):
            assert client.get(path).status_code == 200, path


def test_inactive_users_are_anonymous(guarded: Site) -> None:
    with TestClient(guarded.app) as client:
        guarded.login(client, "ed")
        with guarded.db.session():
            User.objects.filter(username="ed").update(is_active=False)
        assert client.get("/sync/login").status_code == 401


@pytest.fixture
def locked_app(tmp_path: Path) -> Iterator[Site]:
    """An app where every route needs a signed-in user (SQLite)."""
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'locked.sqlite3'}")
    guard(site.app, login_required)

    @site.app.get("/")
    def home() -> str:
        return "home"

    site.db.create_all()
    yield site
    site.db.dispose()


def test_an_app_wide_guard_leaves_the_auth_pages_open(locked_app: Site) -> None:
    locked_app.user("ann")
    with TestClient(locked_app.app) as client:
        assert client.get("/", headers=HTML).status_code == 303
        assert client.get("/auth/login").status_code == 200
        assert client.get("/auth/password/reset").status_code == 200
        locked_app.login(client)
        assert client.get("/").text == "home"


def test_guards_need_arguments() -> None:
    with pytest.raises(ValueError, match="at least one permission"):
        permission_required()
    with pytest.raises(ValueError, match="at least one role"):
        role_required()
    assert repr(login_required) == "<Guard a signed-in user>"


def test_the_login_url_follows_the_prefix(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'prefix.sqlite3'}", prefix="/account")
    assert site.auth.login_url == "/account/login"

    @site.app.get("/private")
    @login_required
    def private() -> str:
        return "private"

    site.db.create_all()
    with TestClient(site.app) as client:
        assert client.get("/account/login").status_code == 200
        response = client.get("/private", headers=HTML)
        assert response.headers["location"] == "/account/login?next=%2Fprivate"
    site.db.dispose()
