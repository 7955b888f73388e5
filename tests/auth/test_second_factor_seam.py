"""The second-factor seam (kettle.auth.factors): a sign-in waits on the second factor,
the pending user is anonymous, and only ``finish_second_factor`` signs them in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import PASSWORD, Site, make_site
from secondfactors import Marked

from htmlforms import csrf_from
from kettle.auth import factors, get_user
from kettle.auth.models import AbstractUser
from kettle.exceptions import ConfigurationError
from kettle.requests import Request
from kettle.responses.base import Response
from kettle.testing import TestClient


def _add_views(site: Site) -> None:
    app, auth = site.app, site.auth

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, object]:
        pending = await auth.apending_user(request)
        return {
            "user": get_user(request).is_authenticated,
            "pending": pending.username if pending is not None else None,
        }

    @app.get("/pending-sync")
    def pending_sync(request: Request) -> dict[str, object]:
        pending = auth.pending_user(request)  # the def-code accessor
        return {"pending": pending.username if pending is not None else None}

    @app.post("/verify")
    async def verify(request: Request) -> Response:
        return await auth.finish_second_factor(request, "marked")

    @app.post("/sign-in-with/<method>")
    async def sign_in_with(request: Request, method: str) -> Response:
        user = await auth.user_model.objects.aget(username="ann")
        return await auth.complete_sign_in(request, user, method=method, next_url="/after")


@pytest.fixture
def seam_site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """The test site with the ``marked`` factor, enrolled for ann, on each engine."""
    built = make_site(tmp_path, db_url)
    built.auth.add_second_factor(Marked("ann"))
    _add_views(built)
    built.db.drop_all()
    built.db.create_all()
    built.user("ann")
    built.user("bob")
    yield built
    built.db.drop_all()
    built.db.dispose()


def _password(client: TestClient, username: str, next_url: str = "/after") -> Response:
    form = {"username": username, "password": PASSWORD, "csrf_token": _token(client)}
    return client.post(f"/auth/login?next={next_url}", data={**form, "next": next_url})


def _token(client: TestClient) -> str:
    return csrf_from(client.get("/auth/password/reset").text)


def test_enrolled_user_waits_on_the_second_factor(seam_site: Site) -> None:
    with TestClient(seam_site.app) as client:
        before = _password(client, "bob")  # no factor: signed in as before
        assert before.status_code == 303
        assert before.headers["location"] == "/after"
        client.cookies.clear()
        client.get("/auth/login")
        anonymous_cookie = client.cookies["session"]
        response = _password(client, "ann")
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/2fa"
        pending_cookie = client.cookies["session"]
        assert pending_cookie != anonymous_cookie
        assert client.get("/whoami").json() == {"user": False, "pending": "ann"}
        assert client.get("/pending-sync").json() == {"pending": "ann"}
        assert client.get("/auth/password").status_code in (302, 303, 401)  # anonymous
        token = _token(client)
        done = client.post("/verify", data={"csrf_token": token})
        assert done.status_code == 303
        assert done.headers["location"] == "/after"
        assert client.cookies["session"] not in (anonymous_cookie, pending_cookie)
        assert client.get("/whoami").json() == {"user": True, "pending": None}


def test_finish_without_a_pending_sign_in_goes_back_to_login(seam_site: Site) -> None:
    with TestClient(seam_site.app) as client:
        response = client.post("/verify", data={"csrf_token": _token(client)})
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/login"
        assert client.get("/whoami").json() == {"user": False, "pending": None}


def test_pending_sign_in_expires(seam_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(seam_site.app) as client:
        _password(client, "ann")
        later = factors.time.time() + factors.PENDING_SECONDS + 1
        monkeypatch.setattr(factors.time, "time", lambda: later)
        assert client.get("/whoami").json() == {"user": False, "pending": None}
        response = client.post("/verify", data={"csrf_token": _token(client)})
        assert response.headers["location"] == "/auth/login"
        assert client.get("/whoami").json()["user"] is False


def test_a_new_password_voids_the_pending_sign_in(seam_site: Site) -> None:
    with TestClient(seam_site.app) as client:
        _password(client, "ann")
        with seam_site.db.session():
            ann = seam_site.auth.user_model.objects.get(username="ann")
            ann.set_password("another-tea-at-dusk-1901")
            ann.save()
        assert client.get("/whoami").json() == {"user": False, "pending": None}
        response = client.post("/verify", data={"csrf_token": _token(client)})
        assert response.headers["location"] == "/auth/login"


def test_passkey_is_two_factors_already(seam_site: Site) -> None:
    with TestClient(seam_site.app) as client:
        response = client.post("/sign-in-with/passkey", data={"csrf_token": _token(client)})
        assert response.headers["location"] == "/after"
        assert client.get("/whoami").json()["user"] is True
    with TestClient(seam_site.app) as client:
        response = client.post("/sign-in-with/oidc:github", data={"csrf_token": _token(client)})
        assert response.headers["location"] == "/auth/2fa"
        assert client.get("/whoami").json() == {"user": False, "pending": "ann"}


def test_required_without_a_factor_goes_to_enrolment(seam_site: Site) -> None:
    auth = seam_site.auth
    auth.second_factor_enrolment = "/auth/2fa/setup"

    @auth.require_second_factor
    async def everyone(user: AbstractUser) -> bool:
        return True

    with TestClient(seam_site.app) as client:
        response = _password(client, "bob")
        assert response.headers["location"] == "/auth/2fa/setup"
        assert client.get("/whoami").json() == {"user": False, "pending": "bob"}


def test_pending_sign_in_signs_out_whoever_was_signed_in(seam_site: Site) -> None:
    with TestClient(seam_site.app) as client:
        _password(client, "bob")
        assert client.get("/whoami").json()["user"] is True
        _password(client, "ann")
        assert client.get("/whoami").json() == {"user": False, "pending": "ann"}


def test_factor_names_are_unique(sqlite_site: Site) -> None:
    sqlite_site.auth.add_second_factor(Marked())
    with pytest.raises(ConfigurationError, match="'marked' is registered already"):
        sqlite_site.auth.add_second_factor(Marked())
    assert isinstance(Marked(), factors.SecondFactor)
