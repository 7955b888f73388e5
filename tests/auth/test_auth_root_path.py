"""The sign-in round trip under a root path: a server's (``root_path``), a Kettle mount's
and kettle.i18n's language prefix. The guard's redirect, the login form's action, the
``next=`` page and the confirm-password (reauth) redirects all carry the prefix once.
On SQLite: nothing here depends on the engine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site

from authpages import PASSWORD
from htmlforms import csrf_from
from kettle import App, Request, Settings
from kettle.auth import login_required, reauth
from kettle.i18n import I18n
from kettle.testing import TestClient

HTML = {"accept": "text/html"}


def build(tmp_path: Path, *, languages: bool = False) -> Site:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'root.sqlite3'}")
    if languages:
        I18n(site.app, languages=["en", "fr"])  # after Auth, as the "user" selector needs

    @site.app.get("/private")
    @login_required
    def private() -> str:
        return "private page"

    @site.app.get("/sensitive")
    @login_required
    async def sensitive(request: Request) -> object:
        return await reauth.require_recent(request) or "sensitive page"

    site.db.create_all()
    site.user("ann")
    return site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    built = build(tmp_path)
    yield built
    built.db.dispose()


def sign_in_round_trip(client: TestClient, prefix: str) -> None:
    """Asks for a private page, follows the login redirect, signs in, comes back."""
    asked = client.get(f"{prefix}/private", headers=HTML)
    assert asked.status_code == 303
    next_ = f"{prefix}/private".replace("/", "%2F")
    assert asked.headers["location"] == f"{prefix}/auth/login?next={next_}"
    page = client.get(asked.headers["location"])
    assert f'action="{prefix}/auth/login"' in page.text
    assert f'name="next" value="{prefix}/private"' in page.text
    form = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    signed_in = client.post(f"{prefix}/auth/login", data={**form, "next": f"{prefix}/private"})
    assert signed_in.headers["location"] == f"{prefix}/private"
    assert client.get(signed_in.headers["location"]).text == "private page"
    # with no next=, the default (redirect_url, "/", a path of the app) is under the prefix
    assert client.get(f"{prefix}/auth/login").headers["location"] == f"{prefix}/"
    account = client.get(f"{prefix}/auth/account")
    logout = {"csrf_token": csrf_from(account.text)}
    assert client.post(f"{prefix}/auth/logout", data=logout).headers["location"] == f"{prefix}/"
    page = client.get(f"{prefix}/auth/login")
    form["csrf_token"] = csrf_from(page.text)
    assert client.post(f"{prefix}/auth/login", data=form).headers["location"] == f"{prefix}/"


def reauth_round_trip(client: TestClient, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reauth, "RECENT_SECONDS", -1)
    asked = client.get(f"{prefix}/sensitive?tab=2")
    assert asked.headers["location"] == f"{prefix}/auth/confirm?next={prefix}/sensitive%3Ftab%3D2"
    confirm = client.get(asked.headers["location"])
    assert f'action="{prefix}/auth/confirm"' in confirm.text
    form = {"csrf_token": csrf_from(confirm.text), "password": PASSWORD}
    monkeypatch.setattr(reauth, "RECENT_SECONDS", 300)
    default = client.post(f"{prefix}/auth/confirm", data=form)
    assert default.headers["location"] == f"{prefix}/auth/account"  # once, not twice


def test_at_the_sites_root(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(site.app) as client:
        sign_in_round_trip(client, "")
        reauth_round_trip(client, "", monkeypatch)


def test_under_a_servers_root_path(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(site.app, root_path="/news") as client:
        sign_in_round_trip(client, "/news")
        reauth_round_trip(client, "/news", monkeypatch)


def test_under_a_kettle_mount(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    outer = App(settings=Settings.load(env="testing", env_file=None), root=site.app.root)
    outer.mount("/news", site.app)
    with TestClient(outer) as client:
        sign_in_round_trip(client, "/news")
        reauth_round_trip(client, "/news", monkeypatch)


def test_under_a_language_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = build(tmp_path, languages=True)
    try:
        with TestClient(site.app, root_path="/news") as client:
            sign_in_round_trip(client, "/news/fr")
            reauth_round_trip(client, "/news/fr", monkeypatch)
            account = client.get("/news/fr/auth/account")
            assert 'action="/news/fr/auth/logout"' in account.text
    finally:
        site.db.dispose()


def test_a_password_reset_under_a_mount(site: Site) -> None:
    # The mail's link is absolute (site_url + app.url_for): the mount's prefix once.
    outer = App(settings=Settings.load(env="testing", env_file=None), root=site.app.root)
    outer.mount("/news", site.app)
    with TestClient(outer) as client:
        page = client.get("/news/auth/password/reset")
        assert 'action="/news/auth/password/reset"' in page.text
        form = {"email": "ann@example.org", "csrf_token": csrf_from(page.text)}
        assert client.post("/news/auth/password/reset", data=form).status_code == 200
        body = site.mail.outbox[-1].body
        found = re.search(r"http://testserver(/\S+)", body)
        assert found is not None, body
        assert found[1].startswith("/news/auth/password/reset/"), found[1]
        followed = client.get(found[1])
        assert followed.headers["location"] == "/news/auth/password/reset/confirm"
        confirm = client.get(followed.headers["location"])
        assert 'action="/news/auth/password/reset/confirm"' in confirm.text
        new = "a-brand-new-kettle-1866"
        done = client.post(
            "/news/auth/password/reset/confirm",
            data={"password1": new, "password2": new, "csrf_token": csrf_from(confirm.text)},
        )
        assert done.headers["location"] == "/news/auth/login"
