"""The site's roles (auth groups) and what each may do.

- ``reader``: every account gets it at sign-up; votes, comments and submits.
- ``editor``: also hides, features and locks articles and hides comments, on the site
  and in the admin (editors are staff, so they may sign in to the admin).
- ``admin``: also manages accounts and roles in the admin.

Superusers pass every check. ``ensure_roles()`` creates the groups and gives them their
permissions; it is idempotent and only ever adds, so permissions an admin granted by hand
stay. Call it inside an open unit of work::

    with db.session():
        ensure_roles()
        grant_role(ann, EDITOR)
"""

from __future__ import annotations

from typing import Any

from kettle.auth import Group, Permission, User, sync_permissions
from kettle.db import sync_session

READER, EDITOR, ADMIN = "reader", "editor", "admin"
#: The roles that may vote, comment and submit.
MEMBERS = (READER, EDITOR, ADMIN)
#: The roles that moderate.
MODERATORS = (EDITOR, ADMIN)

_READER_PERMS = ["article.view", "article.add", "comment.view", "comment.add"]
_EDITOR_PERMS = [*_READER_PERMS, "article.change", "comment.change"]
_ADMIN_PERMS = [
    *_EDITOR_PERMS,
    "article.delete",
    "comment.delete",
    *(f"auth_user.{action}" for action in ("view", "add", "change", "delete")),
    *(f"auth_group.{action}" for action in ("view", "add", "change")),
    "auth_permission.view",
    "auth_api_token.view",
    "auth_api_token.change",
    "auth_api_token.delete",
    # Passkeys and linked sign-ins: seen, and deleted (a lost phone), never made by staff.
    "auth_user_passkey.view",
    "auth_user_passkey.delete",
    "auth_user_identity.view",
    "auth_user_identity.delete",
    "kettle_admin_log.view",
]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    READER: _READER_PERMS,
    EDITOR: _EDITOR_PERMS,
    ADMIN: _ADMIN_PERMS,
}
#: Roles whose members get ``is_staff`` (the admin's door) from ``grant_role``.
STAFF_ROLES = frozenset(MODERATORS)


def ensure_roles() -> None:
    """Create the permission rows, the three groups and their permissions (idempotent).

    Needs an open unit of work (``with db.session():``) whose tables exist.
    """
    sync_permissions(sync_session().connection())
    wanted = {code for codes in ROLE_PERMISSIONS.values() for code in codes}
    permissions = {p.codename: p for p in Permission.objects.filter(codename__in=sorted(wanted))}
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.prefetch_related("permissions").get_or_create(name=role)
        have = {p.codename for p in group.permissions}
        missing = [permissions[code] for code in codes if code not in have and code in permissions]
        if missing:
            group.permissions = [*group.permissions, *missing]
            group.save()


def grant_role(user: Any, role: str) -> None:
    """Add ``user`` to the group ``role`` (made by ``ensure_roles``); editors and admins
    become staff so they can use the admin. Saves the user::

        grant_role(ann, EDITOR)
    """
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"Unknown role {role!r}: use one of {', '.join(ROLE_PERMISSIONS)}.")
    group = Group.objects.get(name=role)
    user = User.objects.prefetch_related("groups").get(id=user.id)
    if all(g.id != group.id for g in user.groups):
        user.groups = [*user.groups, group]
    if role in STAFF_ROLES:
        user.is_staff = True
    user.save()


async def agrant_reader(user: Any) -> None:
    """Put a new account in the ``reader`` group (the sign-up hook; async code)."""
    group, _ = await Group.objects.aget_or_create(name=READER)
    user = await User.objects.prefetch_related("groups").aget(id=user.id)
    if all(g.id != group.id for g in user.groups):
        user.groups = [*user.groups, group]
        await user.asave()


__all__ = [
    "ADMIN",
    "EDITOR",
    "MEMBERS",
    "MODERATORS",
    "READER",
    "ROLE_PERMISSIONS",
    "agrant_reader",
    "ensure_roles",
    "grant_role",
]
