"""``client.login``, ``force_login`` and ``logout`` with kettle.auth, on the database
session backend (Auth's default) and on signed cookies, on every engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from testingsite import make_app

from kettle import App
from kettle.auth import User
from kettle.db import Database
from kettle.exceptions import ConfigurationError
from kettle.testing import AsyncTestClient, TestClient

PASSWORD = "tea-at-altitude-1865"


@pytest.fixture(params=["database", "cookie"])
def app(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> App:
    return make_app(tmp_path, db_url, session_store=request.param)


@pytest.fixture
def ann(db: Database) -> User:
    with db.session():
        user = User(username="ann", email="ann@example.org")
        user.set_password(PASSWORD)
        user.save()
    return user


def test_force_login_signs_the_user_in(client: TestClient, ann: User) -> None:
    assert client.get("/me").status_code in (302, 303, 401)
    client.force_login(ann)
    assert client.get("/me").json() == {"username": "ann"}


def test_force_login_sets_last_login(client: TestClient, ann: User, db: Database) -> None:
    client.force_login(ann)
    with db.session():
        assert User.objects.get(username="ann").last_login is not None


def test_logout_ends_the_session(client: TestClient, ann: User) -> None:
    client.force_login(ann)
    copied = dict(client.cookies.items())
    client.logout()
    assert client.get("/me").status_code != 200
    if client.app.state.auth.options.session_store == "database":
        # a server-side session really ends: the old cookie is worth nothing
        with TestClient(client.app, cookies=copied) as other:
            assert other.get("/me").status_code != 200


def test_login_posts_the_real_form(client: TestClient, ann: User) -> None:
    assert not client.login(username="ann", password="wrong-password-1")
    assert client.get("/me").status_code != 200
    assert client.login(username="ann", password=PASSWORD)
    assert client.get("/me").json() == {"username": "ann"}


def test_login_works_with_csrf_enforced(app: App, ann: User) -> None:
    with TestClient(app, enforce_csrf=True) as client:
        assert client.login(username="ann", password=PASSWORD)
        assert client.get("/me").json() == {"username": "ann"}


@pytest.mark.anyio
async def test_async_client_signs_in_and_out(app: App, ann: User) -> None:
    async with AsyncTestClient(app) as client:
        await client.force_login(ann)
        assert (await client.get("/me")).json() == {"username": "ann"}
        await client.logout()
        assert (await client.get("/me")).status_code != 200
        assert await client.login(username="ann", password=PASSWORD)


def test_an_app_without_auth_is_told_what_to_do(tmp_path: Path) -> None:
    with (
        TestClient(App(root=tmp_path)) as client,
        pytest.raises(ConfigurationError, match=r"create `Auth\(app\)`"),
    ):
        client.force_login(object())
