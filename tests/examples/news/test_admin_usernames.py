"""The admin's user form keeps the username rules: a look-alike or a mixed-script name is
refused with a message (4xx), the key follows a renamed user."""

from __future__ import annotations

from news.roles import ADMIN
from newssite import Site

from htmlforms import csrf_from
from kettle.auth import User
from kettle.auth.usernames import username_key


def add_user(site: Site, username: str) -> object:
    boss = site.client("boss")
    page = boss.get("/admin/auth_user/add")
    assert page.status_code == 200, page.text
    form = {"username": username, "email": "", "is_active": "on", "csrf_token": ""}
    form["csrf_token"] = csrf_from(page.text)
    return boss.post("/admin/auth_user/add", data=form)


def test_the_admin_refuses_look_alike_usernames(site: Site) -> None:
    site.user("boss", ADMIN)
    site.user("paolo")
    twin = add_user(site, "pao1o")
    assert 400 <= twin.status_code < 500  # type: ignore[attr-defined]
    mixed = add_user(site, "p\u0430\u043elo")  # Cyrillic a and o
    assert 400 <= mixed.status_code < 500  # type: ignore[attr-defined]
    assert "one script only" in mixed.text  # type: ignore[attr-defined]
    with site.db.session():
        assert User.objects.count() == 2
    fine = add_user(site, "zoe")
    assert fine.status_code == 303, fine.text  # type: ignore[attr-defined]
    with site.db.session():
        assert User.objects.get(username="zoe").username_key == username_key("zoe")
