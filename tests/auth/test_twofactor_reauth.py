"""Turning two-factor authentication on needs a recent sign-in or the password again
(``kettle.auth.reauth``), and ends the user's other sessions. On SQLite, PostgreSQL and
MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site
from twofactorsite import enrol, make_two_factor_site, whoami

from authpages import PASSWORD
from htmlforms import csrf_from
from kettle._types import ASGIApp, Receive, Scope, Send
from kettle.auth import reauth
from kettle.testing import TestClient


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """The two-factor site on each engine, with ann."""
    built, _ = make_two_factor_site(tmp_path, db_url)
    built.db.drop_all()
    built.db.create_all()
    built.user("ann")
    yield built
    built.db.drop_all()
    built.db.dispose()


def test_a_fresh_sign_in_enrols_at_once(site: Site) -> None:
    with TestClient(site.app) as client:
        site.login(client)
        enrol(client)  # no password asked: ann signed in a moment ago


def test_an_old_sign_in_types_the_password_first(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(site.app) as client:
        site.login(client)
        monkeypatch.setattr(reauth, "RECENT_SECONDS", -1)  # every sign-in is old now
        for method in ("GET", "POST"):
            asked = client.request(method, "/auth/2fa/setup", data={"code": "123456"})
            assert asked.status_code == 303, asked.text
            assert asked.headers["location"] == "/auth/confirm?next=/auth/2fa/setup"
        page = client.get("/auth/confirm?next=/auth/2fa/setup")
        assert "Confirm it is you" in page.text
        form = {"csrf_token": csrf_from(page.text), "next": "/auth/2fa/setup"}
        wrong = client.post("/auth/confirm", data={**form, "password": "not-it"})
        assert wrong.status_code == 422
        assert "not your current password" in wrong.text
        assert client.post("/auth/confirm", data=form).status_code == 422  # empty
        unsafe = {**form, "next": "//evil.example/", "password": PASSWORD}
        monkeypatch.setattr(reauth, "RECENT_SECONDS", 300)
        assert client.post("/auth/confirm", data=unsafe).headers["location"] == "/auth/account"
        right = client.post("/auth/confirm", data={**form, "password": PASSWORD})
        assert right.status_code == 303
        assert right.headers["location"] == "/auth/2fa/setup"
        enrol(client)


def test_wrong_passwords_are_throttled(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(site.app) as client:
        site.login(client)
        monkeypatch.setattr(reauth, "RECENT_SECONDS", -1)
        token = csrf_from(client.get("/auth/confirm").text)
        statuses = [
            client.post("/auth/confirm", data={"csrf_token": token, "password": "no"}).status_code
            for _ in range(6)
        ]
        assert statuses[-1] == 429
        assert set(statuses[:-1]) <= {422, 429}


def test_the_confirm_page_needs_a_signed_in_user(site: Site) -> None:
    with TestClient(site.app) as client:
        assert client.get("/auth/confirm").status_code == 401


def test_turning_it_on_ends_the_other_sessions(site: Site) -> None:
    with TestClient(site.app) as phone, TestClient(site.app) as laptop:
        site.login(phone)
        site.login(laptop)
        _, codes = enrol(laptop)
        assert len(codes) == 10
        assert whoami(laptop)
        assert not whoami(phone)  # signed in without the second factor: ended


def test_enrolling_after_the_password_ends_the_other_sessions(tmp_path: Path, db_url: str) -> None:
    gate = {"on": False}  # a factor becomes required of ann after her first sign-in
    built, _ = make_two_factor_site(tmp_path, db_url, required=lambda user: gate["on"])
    built.db.drop_all()
    built.db.create_all()
    try:
        built.user("ann")
        with TestClient(built.app) as old, TestClient(built.app) as new:
            built.login(old)
            gate["on"] = True
            page = new.get("/auth/login")
            form = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
            sent = new.post("/auth/login", data=form)
            assert sent.headers["location"] == "/auth/2fa/setup"
            enrol(new)
            assert whoami(new)
            assert not whoami(old)
    finally:
        built.db.drop_all()
        built.db.dispose()


def _under(prefix: str, app: ASGIApp) -> ASGIApp:
    """``app`` served below ``prefix``, as a mount or a proxy's root path serves it."""

    async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            assert scope["path"].startswith(prefix), scope["path"]
            scope = {**scope, "root_path": prefix, "path": scope["path"][len(prefix) :] or "/"}
        await app(scope, receive, send)

    return mounted


def test_under_a_root_path_the_confirm_page_comes_back_to_the_prefixed_page(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(_under("/news", site.app)) as client:
        page = client.get("/news/auth/login")
        form = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        assert client.post("/news/auth/login", data=form).status_code == 303
        monkeypatch.setattr(reauth, "RECENT_SECONDS", -1)
        asked = client.get("/news/auth/2fa/setup?from=account")
        assert asked.status_code == 303, asked.text
        location = asked.headers["location"]
        assert location == "/news/auth/confirm?next=/news/auth/2fa/setup%3Ffrom%3Daccount"
        confirm = client.get(location)
        assert 'name="next" value="/news/auth/2fa/setup?from=account"' in confirm.text
        form = {"csrf_token": csrf_from(confirm.text), "password": PASSWORD}
        back = client.post("/news/auth/confirm", data={**form, "next": "/news/auth/2fa/setup"})
        assert back.headers["location"] == "/news/auth/2fa/setup"
        default = client.post("/news/auth/confirm", data=form)  # no next: the account page
        assert default.headers["location"] == "/news/auth/account"
