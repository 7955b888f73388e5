"""Roles: sign-up makes readers; editors and admins get into the admin, readers do not."""

from __future__ import annotations

from news.roles import ADMIN, EDITOR, READER, ROLE_PERMISSIONS, ensure_roles
from newssite import PASSWORD, Site, csrf_from

from kettle.auth import Group, User


def test_sign_up_puts_the_new_account_in_the_reader_role(site: Site) -> None:
    client = site.client()
    page = client.get("/auth/signup")
    assert 'class="wrap auth-page"' in page.text  # the site's layout, from templates/auth
    response = client.post(
        "/auth/signup",
        data={
            "username": "newbie",
            "email": "",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303
    with site.db.session():
        user = User.objects.get(username="newbie")
        assert user.get_roles() == {READER}
        assert not user.is_staff
    assert "Welcome, newbie!" in client.get("/").text


def test_ensure_roles_is_idempotent_and_keeps_permissions_granted_by_hand(site: Site) -> None:
    with site.db.session():
        ensure_roles()
        editors = Group.objects.prefetch_related("permissions").get(name=EDITOR)
        codes = {p.codename for p in editors.permissions}
        assert codes == set(ROLE_PERMISSIONS[EDITOR])
        editors.permissions = [p for p in editors.permissions if p.codename != "comment.change"]
        editors.save()
    with site.db.session():
        ensure_roles()
        ensure_roles()
        assert Group.objects.filter(name__in=[READER, EDITOR, ADMIN]).count() == 3
        editors = Group.objects.prefetch_related("permissions").get(name=EDITOR)
        assert "comment.change" in {p.codename for p in editors.permissions}


def test_readers_cannot_reach_the_admin_editors_moderate_and_admins_manage_users(
    site: Site,
) -> None:
    site.user("reader")
    site.user("editor", EDITOR)
    site.user("boss", ADMIN)
    assert site.client("reader").get("/admin/article/").status_code == 403
    editor = site.client("editor")
    assert editor.get("/admin/article/").status_code == 200
    assert editor.get("/admin/comment/").status_code == 200
    assert editor.get("/admin/auth_user/").status_code == 403
    boss = site.client("boss")
    page = boss.get("/admin/auth_user/")
    assert page.status_code == 200
    assert ">reader</a>" in page.text
    assert boss.get("/admin/auth_group/").status_code == 200


def test_an_account_without_a_role_may_read_but_not_vote(site: Site) -> None:
    ann = site.user("ann")
    site.user("nobody", role=None)
    article = site.article(ann)
    client = site.client("nobody")
    assert client.get(f"/articles/{article.id}").status_code == 200
    response = site.post(client, f"/articles/{article.id}/vote")
    assert response.status_code == 403
    assert "the role reader or editor or admin" in response.text
