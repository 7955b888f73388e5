"""``ApiTokenAdmin``: tokens listed by user, name, prefix and times, searched, revoked in
bulk; their hashes never shown nor set, and no token made in the admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from adminsite import Site, csrf_from, post_form

from kettle.admin import ApiTokenAdmin
from kettle.auth import ApiToken, User
from kettle.db import fields
from kettle.testing import TestClient


@pytest.fixture
def admin(site: Site) -> Iterator[TestClient]:
    """A superuser's client on a site that registers the tokens, on each engine."""
    site.admin.register(ApiToken, ApiTokenAdmin)
    site.user("root", superuser=True)
    client = site.client("root")
    yield client
    client.__exit__(None, None, None)


def issue(site: Site, username: str, name: str, **values: object) -> ApiToken:
    with site.db.session():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(username=username, email=f"{username}@example.org")
        token, _ = ApiToken.issue(user, name)
        if values:
            ApiToken.objects.filter(id=token.id).update(**values)
        return ApiToken.objects.get(id=token.id)


def test_the_list_shows_the_tokens_and_never_their_hashes(site: Site, admin: TestClient) -> None:
    used = fields.now() - dt.timedelta(hours=2)
    laptop = issue(site, "ann", "laptop", last_used=used)
    old = issue(site, "bob", "old bot", revoked=fields.now())
    page = admin.get("/admin/auth_api_token/")
    assert page.status_code == 200
    html = page.text
    for shown in ("ann", "laptop", laptop.prefix, "bob", "old bot", "Last used", "Expires"):
        assert shown in html
    assert "Revoked" in html
    assert laptop.key_hash not in html
    assert old.key_hash not in html
    assert '<option value="revoke_tokens">Revoke selected tokens</option>' in html
    change = admin.get(f"/admin/auth_api_token/{laptop.id}/change")
    assert change.status_code == 200
    assert laptop.key_hash not in change.text
    assert 'name="key_hash"' not in change.text
    assert 'name="user"' not in change.text  # a token stays with its user


def test_search_by_user_and_name(site: Site, admin: TestClient) -> None:
    issue(site, "ann", "laptop")
    issue(site, "bob", "deploy script")
    by_user = admin.get("/admin/auth_api_token/?q=ann").text
    assert "laptop" in by_user
    assert "deploy script" not in by_user
    by_name = admin.get("/admin/auth_api_token/?q=deploy").text
    assert "deploy script" in by_name
    assert "laptop" not in by_name


def test_revoking_tokens_in_bulk(site: Site, admin: TestClient) -> None:
    laptop = issue(site, "ann", "laptop")
    phone = issue(site, "ann", "phone")
    kept = issue(site, "bob", "bob's bot")
    earlier = fields.now() - dt.timedelta(days=3)
    old = issue(site, "bob", "old", revoked=earlier)
    page = admin.get("/admin/auth_api_token/")
    response = admin.post(
        "/admin/auth_api_token/",
        data={
            "action": "revoke_tokens",
            "_selected": [str(laptop.id), str(phone.id), str(old.id)],
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303
    assert "2 token(s) revoked." in admin.get(response.headers["location"]).text
    with site.db.session():
        states = {t.name: t.state for t in ApiToken.objects.all()}
        revoked_at = ApiToken.objects.get(id=old.id).revoked
    assert states == {
        "laptop": "revoked",
        "phone": "revoked",
        "bob's bot": "active",
        "old": "revoked",
    }
    assert revoked_at is not None
    assert abs(revoked_at - earlier) < dt.timedelta(seconds=1)
    assert kept.state == "active"


def test_no_token_is_made_in_the_admin_and_no_hash_is_set(site: Site, admin: TestClient) -> None:
    laptop = issue(site, "ann", "laptop")
    assert admin.get("/admin/auth_api_token/add").status_code == 403
    response = post_form(
        admin,
        f"/admin/auth_api_token/{laptop.id}/change",
        {"name": "renamed", "expires": "", "key_hash": "0" * 64, "prefix": "kt_forged"},
    )
    assert response.status_code == 303, response.text
    with site.db.session():
        token = ApiToken.objects.get(id=laptop.id)
    assert (token.name, token.key_hash, token.prefix) == ("renamed", laptop.key_hash, laptop.prefix)
    assert token.expires == laptop.expires  # read-only: no token is given a longer life
