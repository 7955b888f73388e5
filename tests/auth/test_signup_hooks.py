"""Auth.on_signup: code that runs for each account the sign-up page creates."""

from __future__ import annotations

from typing import Any

import pytest
from authsite import PASSWORD, Site, csrf_from

from kettle.auth import Group, User
from kettle.testing import TestClient


def sign_up(site: Site, username: str) -> Any:
    client = TestClient(site.app)
    page = client.get("/auth/signup")
    return client.post(
        "/auth/signup",
        data={
            "username": username,
            "email": "",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
    )


def test_a_hook_gives_every_new_account_a_role(site: Site) -> None:
    seen = []

    @site.auth.on_signup
    async def make_reader(request: Any, user: Any) -> None:
        seen.append((request.path, user.username))
        reader, _ = await Group.objects.aget_or_create(name="reader")
        user = await User.objects.prefetch_related("groups").aget(id=user.id)
        user.groups.append(reader)
        await user.asave()

    assert sign_up(site, "newbie").status_code == 303
    assert seen == [("/auth/signup", "newbie")]
    with site.db.session():
        assert User.objects.get(username="newbie").get_roles() == {"reader"}


def test_a_failing_hook_creates_no_account(sqlite_site: Site) -> None:
    @sqlite_site.auth.on_signup
    async def refuse(request: Any, user: Any) -> None:
        raise RuntimeError("the directory is down")

    assert sign_up(sqlite_site, "newbie").status_code == 500
    with sqlite_site.db.session():
        assert not User.objects.filter(username="newbie").exists()


def test_hooks_must_be_async(sqlite_site: Site) -> None:
    def blocking(request: Any, user: Any) -> None:
        pass

    with pytest.raises(TypeError, match=r"blocking an `async def` taking \(request, user\)"):
        sqlite_site.auth.on_signup(blocking)
