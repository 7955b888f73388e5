"""A new password revokes the user's API tokens: the password page, a reset, the command
line and ``Auth.password_changed`` itself (``AuthOptions.revoke_tokens_on_password_change``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import PASSWORD, Site, make_site
from click.testing import CliRunner

from htmlforms import csrf_from
from kettle import Request
from kettle.auth import ApiToken, User, get_user, login_required
from kettle.cli import main
from kettle.testing import TestClient

NEW_PASSWORD = "kettles-whistle-at-dawn"


def with_me(site: Site) -> Site:
    @site.app.get("/api/me")
    @login_required
    async def me(request: Request) -> dict[str, object]:
        return {"user": get_user(request).username}

    return site


@pytest.fixture
def api(site: Site) -> Site:
    return with_me(site)


def tokens_of(site: Site, *names: str) -> dict[str, str]:
    """A live token for each user in ``names``, by name (the users must exist)."""
    made = {}
    with site.db.session():
        for name in names:
            _, made[name] = ApiToken.issue(User.objects.get(username=name), f"{name}'s script")
    return made


def works(client: TestClient, raw: str) -> bool:
    response = client.get("/api/me", headers={"authorization": f"Bearer {raw}"})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def change_password(site: Site, client: TestClient) -> None:
    site.login(client)
    form = client.get("/auth/password")
    response = client.post(
        "/auth/password",
        data={
            "old_password": PASSWORD,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "csrf_token": csrf_from(form.text),
        },
    )
    assert response.status_code == 303, response.text


def test_a_password_change_revokes_the_users_tokens_only(api: Site) -> None:
    api.user("ann")
    api.user("bob")
    raw = tokens_of(api, "ann", "bob")
    with TestClient(api.app) as client:
        assert works(client, raw["ann"])
        change_password(api, client)
        assert not works(client, raw["ann"])
        assert works(client, raw["bob"])
        assert client.get("/auth/password").status_code == 200  # this session stays
    with api.db.session():
        assert [t.state for t in ApiToken.objects.filter(user__username="ann")] == ["revoked"]


def test_a_password_reset_revokes_the_users_tokens(api: Site) -> None:
    api.user("ann")
    raw = tokens_of(api, "ann")
    with TestClient(api.app) as client:
        form = client.get("/auth/password/reset")
        client.post(
            "/auth/password/reset",
            data={"email": "ann@example.org", "csrf_token": csrf_from(form.text)},
        )
        match = re.search(r"http://testserver(/auth/password/reset/\S+)", api.mail.outbox[-1].body)
        assert match is not None
        assert client.get(match.group(1)).status_code == 303
        form = client.get("/auth/password/reset/confirm")
        done = client.post(
            "/auth/password/reset/confirm",
            data={
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
                "csrf_token": csrf_from(form.text),
            },
        )
        assert done.status_code == 303
        assert not works(client, raw["ann"])


@pytest.fixture
def keeping(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """A site whose tokens survive a password change, on each engine."""
    built = with_me(make_site(tmp_path, db_url, revoke_tokens_on_password_change=False))
    built.db.drop_all()
    built.db.create_all()
    yield built
    built.db.drop_all()
    built.db.dispose()


def test_an_app_may_keep_tokens_across_a_password_change(keeping: Site) -> None:
    keeping.user("ann")
    raw = tokens_of(keeping, "ann")
    with TestClient(keeping.app) as client:
        change_password(keeping, client)
        assert works(client, raw["ann"])


@pytest.mark.anyio
async def test_password_changed_in_def_and_async_code(site: Site) -> None:
    ann = site.user("ann")
    bob = site.user("bob")
    tokens_of(site, "ann", "ann", "bob")
    with site.db.session():
        site.auth.password_changed(ann)
        assert {t.user_id: t.state for t in ApiToken.objects.all()} == {
            ann.id: "revoked",
            bob.id: "active",
        }
    async with site.db.async_session():
        await site.auth.apassword_changed(bob)
    async with site.db.async_session():
        assert {t.state for t in await ApiToken.objects.alist()} == {"revoked"}
    await site.db.adispose()


APP = """\
from kettle import App
from kettle.auth import Argon2Hasher, Auth, AuthOptions
from kettle.db import Database

app = App()
db = Database(app, url={url!r})
auth = Auth(app, options=AuthOptions(hasher=Argon2Hasher(memory_cost=256, time_cost=1)))
"""


def test_kettle_changepassword_revokes_the_users_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    app_file = tmp_path / "revokingapp.py"
    app_file.write_text(APP.format(url=url), encoding="utf-8")
    site = make_site(tmp_path, url)
    site.db.create_all()
    try:
        ann = site.user("ann")
        with site.db.session():
            token, _ = ApiToken.issue(ann, "laptop")
        result = CliRunner().invoke(
            main,
            ["changepassword", "ann", "--password-stdin", "--app", str(app_file)],
            input=NEW_PASSWORD + "\n",
        )
        assert result.exit_code == 0, result.output
        with site.db.session():
            assert ApiToken.objects.get(id=token.id).state == "revoked"
    finally:
        import sys

        sys.modules.pop("revokingapp", None)
        site.db.dispose()
