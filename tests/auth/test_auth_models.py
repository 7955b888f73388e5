"""Users, groups and permissions on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from authsite import PASSWORD, Site

from kettle.auth import (
    AbstractUser,
    AnonymousUser,
    ApiToken,
    Group,
    Permission,
    User,
    async_permissions,
    perm_for,
    sync_permissions,
    token_model_for,
)
from kettle.auth.permissions import forget, permission_rows
from kettle.db import fields


class Member(AbstractUser):
    """A project's own user model."""

    display_name: str = fields.string(max_length=80, default="")


MemberToken = token_model_for(Member)


def grant(site: Site) -> tuple[User, User]:
    """ann: article.change herself and article.view through the editors; bob: nothing."""
    sync_permissions(site.db)
    with site.db.session():
        view = Permission.objects.get(codename="auth_user.view")
        change = Permission.objects.get(codename="auth_group.change")
        editors = Group.objects.create(name="editor", permissions=[view])
        ann = User.objects.create(username="ann", groups=[editors], permissions=[change])
        bob = User.objects.create(username="bob")
    return ann, bob


def test_a_user_has_the_abstract_users_fields(site: Site) -> None:
    with site.db.session():
        ann = User.objects.create(username="ann", email="ann@example.org")
        assert (ann.is_active, ann.is_staff, ann.is_superuser) == (True, False, False)
        assert ann.date_joined is not None
        assert ann.last_login is None
        assert ann.is_authenticated
        assert not ann.is_anonymous
        assert not ann.has_usable_password()
    assert User.__tablename__ == "auth_user"
    assert ApiToken.__tablename__ == "auth_api_token"
    with pytest.raises(sa.exc.IntegrityError), site.db.session():
        User.objects.create(username="ann")


def test_passwords_are_hashed_and_checked(site: Site) -> None:
    with site.db.session():
        ann = User(username="ann")
        ann.set_password(PASSWORD)
        ann.save()
        assert PASSWORD not in ann.password
        assert ann.password.startswith("$argon2id$")
    with site.db.session():
        ann = User.objects.get(username="ann")
        assert ann.check_password(PASSWORD)
        assert not ann.check_password("wrong")
        ann.set_unusable_password()
        assert not ann.has_usable_password()
        assert not ann.check_password(PASSWORD)


def test_permissions_come_from_the_user_and_their_groups(site: Site) -> None:
    ann, bob = grant(site)
    with site.db.session():
        assert ann.get_all_permissions() == {"auth_user.view", "auth_group.change"}
        assert ann.has_perm("auth_user.view")  # through the group
        assert ann.has_perm("auth_group.change")  # her own
        assert not ann.has_perm("auth_user.delete")
        assert ann.has_perms(["auth_user.view", "auth_group.change"])
        assert not ann.has_perms(["auth_user.view", "auth_user.delete"])
        assert not bob.has_perm("auth_user.view")
        assert bob.get_all_permissions() == set()
        assert ann.get_roles() == {"editor"}
        assert ann.has_role("editor")
        assert not bob.has_role("editor")


def test_superusers_have_every_permission_inactive_users_none(site: Site) -> None:
    ann, _ = grant(site)
    with site.db.session():
        root = User.objects.create(username="root", is_superuser=True)
        assert root.has_perm("anything.at_all")
        assert root.has_role("editor")
        assert "auth_permission.delete" in root.get_all_permissions()
        ann.is_active = False
        assert not ann.has_perm("auth_user.view")
        assert ann.get_all_permissions() == set()
        assert not ann.has_role("editor")


def test_permissions_are_cached_until_forgotten(site: Site) -> None:
    ann, _ = grant(site)
    with site.db.session():
        assert not ann.has_perm("auth_user.add")
        add = Permission.objects.get(codename="auth_user.add")
        fresh = User.objects.get(id=ann.id)
        fresh.permissions.append(add)
        fresh.save()
        assert not ann.has_perm("auth_user.add")  # cached on this object
        forget(ann)
        assert ann.has_perm("auth_user.add")


@pytest.mark.anyio
async def test_async_twins(site: Site) -> None:
    ann, bob = grant(site)
    async with site.db.async_session():
        assert await ann.aget_all_permissions() == {"auth_user.view", "auth_group.change"}
        assert await ann.ahas_perm("auth_user.view")
        assert await ann.ahas_perms(["auth_user.view", "auth_group.change"])
        assert not await ann.ahas_perms(["auth_user.view", "auth_user.delete"])
        assert not await bob.ahas_perm("auth_user.view")
        assert await ann.aget_roles() == {"editor"}
        assert await ann.ahas_role("editor")
    await site.db.adispose()


def test_object_permission_hooks_decide_first(site: Site) -> None:
    ann, bob = grant(site)
    calls = []

    @site.auth.object_permission
    def own_profile(user: User, perm: str, obj: object) -> bool | None:
        calls.append(perm)
        if perm == "auth_user.change" and isinstance(obj, User):
            return obj.id == user.id
        return None

    with site.db.session():
        assert ann.has_perm("auth_user.change", ann)  # her own account
        assert not ann.has_perm("auth_user.change", bob)
        assert ann.has_perm("auth_user.view", bob)  # None: the model permission decides
        assert not bob.has_perm("auth_user.view", ann)
        assert not ann.has_perm("auth_user.change")  # no object: hooks are not asked
    assert calls == ["auth_user.change", "auth_user.change", "auth_user.view", "auth_user.view"]


@pytest.mark.anyio
async def test_async_object_permission_hooks(site: Site) -> None:
    ann, bob = grant(site)

    @site.auth.object_permission
    async def only_bob(user: User, perm: str, obj: object) -> bool | None:
        return obj is bob or None

    async with site.db.async_session():
        assert await ann.ahas_perm("auth_user.delete", bob)
        assert not await ann.ahas_perm("auth_user.delete", ann)
    with site.db.session(), pytest.raises(TypeError, match="ahas_perm"):
        ann.has_perm("auth_user.delete", bob)
    await site.db.adispose()


def test_sync_permissions_creates_four_per_model_once(site: Site) -> None:
    created = sync_permissions(site.db)
    assert {"auth_user.view", "auth_user.add", "auth_user.change", "auth_user.delete"} <= set(
        created
    )
    tables = {codename.split(".")[0] for codename in permission_rows()}
    assert len(created) == len(permission_rows()) == 4 * len(tables)
    assert sync_permissions(site.db) == []
    with site.db.session():
        change = Permission.objects.get(codename="auth_group.change")
        assert change.name == "Can change auth group"
        Permission.objects.filter(codename="auth_group.change").delete()
    assert sync_permissions(site.db) == ["auth_group.change"]


@pytest.mark.anyio
async def test_async_permissions_is_the_async_twin(site: Site) -> None:
    assert "auth_user.view" in await async_permissions(site.db)
    assert await async_permissions(site.db) == []
    await site.db.adispose()


def test_sync_permissions_works_on_a_connection_and_without_tables(site: Site) -> None:
    with site.db.sync_engine.begin() as connection:
        assert "auth_user.view" in sync_permissions(connection)
    site.db.drop_all()
    assert sync_permissions(site.db) == []  # no table yet: nothing to do, no error
    site.db.create_all()


def test_perm_for() -> None:
    assert perm_for(User, "change") == "auth_user.change"
    assert perm_for(User(username="x"), "view") == "auth_user.view"
    assert perm_for(Member, "delete") == "member.delete"
    with pytest.raises(ValueError, match="view, add, change, delete"):
        perm_for(User, "publish")


def test_a_custom_user_model(site: Site) -> None:
    token_model = token_model_for(Member)
    assert token_model is MemberToken
    assert token_model.__tablename__ == "member_api_token"
    assert {"member_groups", "member_permissions"} <= set(Member.metadata.tables)
    sync_permissions(site.db)
    with site.db.session():
        view = Permission.objects.get(codename="member.view")
        editors = Group.objects.create(name="editor", permissions=[view])
        member = Member.objects.create(username="cat", display_name="Cat", groups=[editors])
        assert member.has_perm("member.view")
        assert member.get_roles() == {"editor"}
        token, raw = token_model.issue(member, "laptop")
        assert token.user_id == member.id
        assert raw.startswith("kt_")


def test_anonymous_users_have_nothing() -> None:
    nobody = AnonymousUser()
    assert not nobody.is_authenticated
    assert nobody.is_anonymous
    assert nobody.id is None
    assert not nobody.has_perm("auth_user.view")
    assert nobody.get_all_permissions() == set()
    assert not nobody.has_perms(["x.view"])
    assert not nobody.has_role("editor")
    assert nobody == AnonymousUser()
    assert str(nobody) == "AnonymousUser"
