"""The owner's token page, /auth/tokens: list, create (shown once) and revoke, with CSRF."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from authsite import Site

from htmlforms import csrf_from
from kettle.auth import ApiToken, User
from kettle.db import fields
from kettle.testing import TestClient


@pytest.fixture
def web(site: Site) -> Site:
    site.user("ann")
    site.user("bob")
    return site


def issue(site: Site, username: str, name: str, **values: object) -> ApiToken:
    with site.db.session():
        token, _ = ApiToken.issue(User.objects.get(username=username), name)
        if values:
            ApiToken.objects.filter(id=token.id).update(**values)
            token = ApiToken.objects.get(id=token.id)
    return token


def create(client: TestClient, **form: str) -> object:
    page = client.get("/auth/tokens")
    return client.post("/auth/tokens", data={**form, "csrf_token": csrf_from(page.text)})


def test_the_page_needs_a_signed_in_user(web: Site) -> None:
    with TestClient(web.app) as client:
        assert client.get("/auth/tokens").status_code == 401


def test_the_page_lists_only_ones_own_tokens(web: Site) -> None:
    used = fields.now() - dt.timedelta(hours=3)
    mine = issue(web, "ann", "deploy script", last_used=used)
    issue(web, "ann", "old laptop", revoked=fields.now())
    issue(web, "ann", "ci", expires=fields.now() - dt.timedelta(days=1))
    theirs = issue(web, "bob", "bob's bot")
    with TestClient(web.app) as client:
        web.login(client)
        page = client.get("/auth/tokens")
    assert page.status_code == 200
    html = page.text
    for shown in ("deploy script", mine.prefix, "old laptop", "ci", "revoked", "expired"):
        assert shown in html
    assert f"{used:%Y-%m-%d %H:%M}" in html  # last used
    assert "bob&#39;s bot" not in html
    assert theirs.prefix not in html
    assert mine.key_hash not in html
    assert 'name="csrf_token"' in html
    assert '<label for="id_name">' in html


def test_creating_a_token_shows_it_once(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        created = create(client, name="deploy script", lifetime="7")
        assert created.status_code == 201  # type: ignore[attr-defined]
        assert created.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
        match = re.search(r"kt_[A-Za-z0-9_-]{43}", created.text)  # type: ignore[attr-defined]
        assert match is not None
        raw = match.group(0)
        assert raw not in client.get("/auth/tokens").text
        assert (
            client.get("/auth/password", headers={"authorization": f"Bearer {raw}"}).status_code
            == 200
        )
    with web.db.session():
        token = ApiToken.objects.get(name="deploy script")
        assert token.user.username == "ann"
        assert token.expires is not None
        assert abs(token.expires - fields.now() - dt.timedelta(days=7)) < dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "", "lifetime": "30"}, "name", "This field is required."),
        ({"name": "x" * 101, "lifetime": "30"}, "name", "at most 100 characters"),
        ({"name": "nul\x00byte", "lifetime": "30"}, "name", "no control characters"),
        ({"name": "ci", "lifetime": "100000"}, "lifetime", "Choose one of the lifetimes"),
        ({"name": "ci", "lifetime": "soon"}, "lifetime", "Choose one of the lifetimes"),
    ],
)
def test_a_bad_form_shows_its_errors(
    web: Site, form: dict[str, str], field: str, message: str
) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        response = create(client, **form)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert f'id="{field}-errors"' in response.text  # type: ignore[attr-defined]
    assert message in response.text  # type: ignore[attr-defined]
    with web.db.session():
        assert ApiToken.objects.count() == 0


def test_forms_need_the_csrf_token(web: Site) -> None:
    mine = issue(web, "ann", "laptop")
    with TestClient(web.app, enforce_csrf=True) as client:
        web.login(client)
        assert client.post("/auth/tokens", data={"name": "ci", "lifetime": "30"}).status_code == 403
        assert client.post(f"/auth/tokens/{mine.id}/revoke").status_code == 403
    with web.db.session():
        assert ApiToken.objects.get(id=mine.id).state == "active"
        assert ApiToken.objects.count() == 1


def test_revoking_ones_own_token_and_not_anothers(web: Site) -> None:
    mine = issue(web, "ann", "laptop")
    theirs = issue(web, "bob", "bob's bot")
    with TestClient(web.app) as client:
        web.login(client)
        token = csrf_from(client.get("/auth/tokens").text)
        done = client.post(f"/auth/tokens/{mine.id}/revoke", data={"csrf_token": token})
        assert done.status_code == 303
        assert done.headers["location"] == "/auth/tokens"
        assert "The token laptop was revoked." in client.get("/auth/tokens").text
        other = client.post(f"/auth/tokens/{theirs.id}/revoke", data={"csrf_token": token})
        assert other.status_code == 404
        assert (
            client.post("/auth/tokens/999999/revoke", data={"csrf_token": token}).status_code == 404
        )
    with web.db.session():
        assert ApiToken.objects.get(id=mine.id).state == "revoked"
        assert ApiToken.objects.get(id=theirs.id).state == "active"


def test_an_api_token_cannot_manage_tokens(web: Site) -> None:
    with web.db.session():
        _, raw = ApiToken.issue(User.objects.get(username="ann"), "script")
    with TestClient(web.app) as client:
        response = client.get("/auth/tokens", headers={"authorization": f"Bearer {raw}"})
    assert response.status_code == 403
    assert "signed-in browser session" in response.json()["detail"]


def test_the_password_page_links_to_the_tokens(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        assert 'href="/auth/tokens"' in client.get("/auth/password").text
