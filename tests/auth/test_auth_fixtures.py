"""Users, groups and permissions in fixtures: named by natural keys, on every engine."""

from __future__ import annotations

from authsite import Site

from kettle.auth import Group, Permission, User
from kettle.db.fixtures import dump, load

TABLES = ["auth_permission", "auth_group", "auth_user"]


def test_users_with_groups_round_trip_by_natural_key(site: Site) -> None:
    db = site.db
    with db.session():
        change = Permission(codename="article.change", name="Can change article")
        change.save()
        editors = Group(name="editor", permissions=[change])
        editors.save()
        ann = User(username="ann", email="ann@example.org", groups=[editors])
        ann.set_unusable_password()
        ann.save()
    data = dump(db, TABLES)
    assert data[:2] == [
        {
            "model": "auth_permission",
            "fields": {"codename": "article.change", "name": "Can change article"},
        },
        {"model": "auth_group", "fields": {"name": "editor", "permissions": [["article.change"]]}},
    ]
    user = data[2]
    assert "pk" not in user
    assert user["fields"]["username"] == "ann"
    assert user["fields"]["groups"] == [["editor"]]
    db.drop_all()
    db.create_all()
    assert load(db, data) == 3
    assert dump(db, TABLES) == data
    with db.session():
        assert User.objects.get(username="ann").has_perm("article.change")
