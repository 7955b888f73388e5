"""Users' passkeys in the admin (``kettle.auth.passkeys.admin``), on each engine: listed
on their own page and on the user's, never added or edited by staff, deleted by staff with
the permission only, from either page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site
from softkey import SoftKey
from test_passkeys_api import register

from htmlforms import csrf_from
from kettle.admin import AdminSite, ModelAdmin
from kettle.auth import Group, Permission, User
from kettle.auth.passkeys import Passkeys, passkey_model_for
from kettle.auth.passkeys.admin import PasskeyAdmin, passkey_inline
from kettle.auth.permissions import sync_permissions
from kettle.testing import TestClient

LIST = "/admin/auth_user_passkey/"


class UserAdmin(ModelAdmin):
    fields = ["username", "email"]
    inlines = [passkey_inline(User)]


@pytest.fixture
def keyed(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """The admin with passkeys on each engine: ann has two, bob one; root is a superuser,
    viewer is staff who may only look at passkeys and users."""
    built = make_site(tmp_path, db_url)
    Passkeys(built.auth)
    admin = AdminSite(built.app)
    admin.register(User, UserAdmin)
    admin.register(passkey_model_for(User), PasskeyAdmin)
    built.db.drop_all()
    built.db.create_all()
    sync_permissions(built.db)
    for name, keys in (("ann", ("ann's phone", "ann's laptop")), ("bob", ("bob's key",))):
        built.user(name)
        with TestClient(built.app) as client:
            built.login(client, name)
            for key in keys:
                register(built, client, SoftKey(), key)
    built.user("root", is_staff=True, is_superuser=True)
    built.user("viewer", is_staff=True)
    with built.db.session():
        wanted = ["auth_user_passkey.view", "auth_user.view"]
        perms = list(Permission.objects.filter(codename__in=wanted))
        assert len(perms) == 2, perms
        viewer = User.objects.get(username="viewer")
        viewer.groups = [Group.objects.create(name="viewers", permissions=perms)]
        viewer.save()
    yield built
    built.db.drop_all()
    built.db.dispose()


def passkeys(site: Site) -> dict[str, int]:
    """Every passkey, name -> id."""
    with site.db.session():
        return {p.name: p.id for p in passkey_model_for(User).objects.all()}


def user_id(site: Site, username: str) -> int:
    with site.db.session():
        return User.objects.get(username=username).id


def test_staff_see_every_passkey_with_its_use(keyed: Site) -> None:
    with TestClient(keyed.app) as client:
        keyed.login(client, "viewer")
        listed = client.get(LIST)
        assert listed.status_code == 200, listed.text
        for shown in ("ann&#39;s phone", "ann&#39;s laptop", "bob&#39;s key", "Sign count"):
            assert shown in listed.text
        assert "Last used" in listed.text
        assert "public_key" not in listed.text  # no key material on show
        found = client.get(f"{LIST}?q=bob")
        assert "bob&#39;s key" in found.text
        assert "ann&#39;s phone" not in found.text
        page = client.get(f"/admin/auth_user/{user_id(keyed, 'ann')}/change")
        assert page.status_code == 200, page.text
        assert "ann&#39;s phone" in page.text
        assert "ann&#39;s laptop" in page.text
        assert "bob&#39;s key" not in page.text  # only ann's own


def test_nobody_adds_or_edits_a_passkey_in_the_admin(keyed: Site) -> None:
    phone = passkeys(keyed)["ann's phone"]
    with TestClient(keyed.app) as client:
        keyed.login(client, "root")
        assert client.get(f"{LIST}add").status_code in (403, 404)
        page = client.get(f"{LIST}{phone}/change")
        assert page.status_code == 200, page.text
        assert 'name="name"' not in page.text  # read-only, even for a superuser
        user_page = client.get(f"/admin/auth_user/{user_id(keyed, 'ann')}/change")
        assert "passkey-__prefix__" not in user_page.text  # no "add another" row
        assert not re.search(r'name="[\w-]+-0-name"', user_page.text)


def test_staff_without_the_permission_cannot_delete_one(keyed: Site) -> None:
    phone = passkeys(keyed)["ann's phone"]
    with TestClient(keyed.app) as client:
        keyed.login(client, "viewer")
        page = client.get(f"{LIST}{phone}/delete")
        assert page.status_code == 403
        token = csrf_from(client.get(LIST).text)
        sent = client.post(f"{LIST}{phone}/delete", data={"csrf_token": token, "post": "yes"})
        assert sent.status_code == 403
        user_page = client.get(f"/admin/auth_user/{user_id(keyed, 'ann')}/change")
        assert "ann&#39;s phone" in user_page.text
        assert "-DELETE" not in user_page.text  # no delete box on the user's page either
    assert "ann's phone" in passkeys(keyed)


def test_staff_with_the_permission_delete_one_from_its_page(keyed: Site) -> None:
    phone = passkeys(keyed)["ann's phone"]
    with TestClient(keyed.app) as client:
        keyed.login(client, "root")
        page = client.get(f"{LIST}{phone}/delete")
        assert page.status_code == 200, page.text
        assert "ann&#39;s phone" in page.text
        form = {"csrf_token": csrf_from(page.text), "post": "yes"}
        done = client.post(f"{LIST}{phone}/delete", data=form)
        assert done.status_code in (302, 303), done.text
    assert sorted(passkeys(keyed)) == ["ann's laptop", "bob's key"]


def test_staff_with_the_permission_delete_one_from_the_users_page(keyed: Site) -> None:
    ids = passkeys(keyed)
    ann = user_id(keyed, "ann")
    with TestClient(keyed.app) as client:
        keyed.login(client, "root")
        page = client.get(f"/admin/auth_user/{ann}/change")
        boxes = re.findall(r'name="([\w-]+)-(\d+)-DELETE"', page.text)
        assert len(boxes) == 2, page.text  # one per passkey of ann's
        prefix = boxes[0][0]
        rows = dict(re.findall(rf'name="{prefix}-(\d+)-id" value="(\d+)"', page.text))
        doomed = next(i for i, pk in rows.items() if int(pk) == ids["ann's laptop"])
        form = {
            "csrf_token": csrf_from(page.text),
            "username": "ann",
            "email": "ann@example.org",
            f"{prefix}-TOTAL_FORMS": str(len(rows)),
            **{f"{prefix}-{i}-id": pk for i, pk in rows.items()},
            f"{prefix}-{doomed}-DELETE": "on",
        }
        saved = client.post(f"/admin/auth_user/{ann}/change", data=form)
        assert saved.status_code in (302, 303), saved.text
    assert sorted(passkeys(keyed)) == ["ann's phone", "bob's key"]
