"""Permissions: ``"<table>.<action>"`` strings, the rows behind them, and the checks.

Every model gets four permissions, ``view``, ``add``, ``change`` and ``delete``;
``sync_permissions`` creates the missing rows (``Auth`` runs it at start-up, and a data
migration may call it with its connection)::

    perm_for(Article, "change")            # "article.change"
    sync_permissions(db)                   # ["article.add", "article.change", ...] created

A user has a permission when it is theirs or one of their groups'; superusers have all,
inactive users none. With an object, the hooks registered by ``Auth.object_permission``
are asked first; the first one that answers True or False decides.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from kettle.auth.models import AbstractUser, Group, Permission
from kettle.db import Model
from kettle.db.session import async_session, sync_session

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from kettle.db.database import Database

log = logging.getLogger("kettle.auth")
#: The four actions every model gets a permission for: ``perm_for(Article, "view")``
#: is ``"article.view"``.
ACTIONS = ("view", "add", "change", "delete")
_CACHE = "_kettle_perm_cache"
_ROLES = "_kettle_role_cache"


def perm_for(model: type[Model] | Model, action: str) -> str:
    """The permission string for ``action`` on ``model`` (a class or an instance)::

    perm_for(Article, "delete")   # "article.delete"
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
    cls = model if isinstance(model, type) else type(model)
    return f"{cls.__tablename__}.{action}"


def permission_rows() -> dict[str, str]:
    """Every model's permissions, codename to name, for all models declared so far::

    permission_rows()["article.change"]   # "Can change article"
    """
    rows: dict[str, str] = {}
    for mapper in sorted(Model.registry.mappers, key=lambda m: m.class_.__tablename__):
        table = mapper.class_.__tablename__
        for action in ACTIONS:
            rows[f"{table}.{action}"] = f"Can {action} {table.replace('_', ' ')}"
    return rows


def _create_missing(connection: Connection) -> list[str]:
    table = Permission.__table__
    assert isinstance(table, sa.Table)
    if not sa.inspect(connection).has_table(table.name):
        log.info("No %s table yet (run the migrations); permissions not synced.", table.name)
        return []
    wanted = permission_rows()
    existing = set(connection.scalars(sa.select(table.c.codename)))
    missing = [codename for codename in wanted if codename not in existing]
    if missing:
        connection.execute(sa.insert(table), [{"codename": c, "name": wanted[c]} for c in missing])
    return missing


def sync_permissions(target: Database | Connection) -> list[str]:
    """Create the permission rows that are missing; returns their codenames. Idempotent.

    ``target`` is a ``Database`` or an open connection (``op.get_bind()`` in a migration)::

        def upgrade() -> None:
            sync_permissions(op.get_bind())
    """
    if isinstance(target, sa.Connection):
        return _create_missing(target)
    try:
        with target.session() as session:
            return _create_missing(session.connection())
    except sa_exc.IntegrityError:  # another process created some at the same moment
        with target.session() as session:
            return _create_missing(session.connection())


async def async_permissions(db: Database) -> list[str]:
    """``sync_permissions(db)`` for async code (the ``a`` twin of its name)::

    await async_permissions(db)
    """

    async def run() -> list[str]:
        async with db.async_session() as session:
            return await session.run_sync(lambda s: _create_missing(s.connection()))

    try:
        return await run()
    except sa_exc.IntegrityError:
        return await run()


# --- what a user has ---------------------------------------------------------------------------
@functools.cache
def _link(model: type[Model], name: str) -> tuple[sa.Table, sa.ColumnElement[Any], Any]:
    """The association table of the many-to-many ``model.name``, with its column pointing
    at ``model`` and the one pointing at the other side."""
    relation = sa.inspect(model).relationships[name]
    table = relation.secondary
    assert isinstance(table, sa.Table)
    ((_, own),) = relation.synchronize_pairs
    ((_, other),) = relation.secondary_synchronize_pairs or ()
    return table, own, other


def _codenames(user: AbstractUser) -> Any:
    permission = Permission.__table__.c
    if user.is_superuser:
        return sa.select(permission.codename)
    model = type(user)
    user_perms, perms_user, perms_permission = _link(model, "permissions")
    user_groups, groups_user, groups_group = _link(model, "groups")
    group_perms, group_perms_group, group_perms_permission = _link(Group, "permissions")
    own = (
        sa.select(permission.codename)
        .join(user_perms, perms_permission == permission.id)
        .where(perms_user == user.id)
    )
    grouped = (
        sa.select(permission.codename)
        .join(group_perms, group_perms_permission == permission.id)
        .join(user_groups, groups_group == group_perms_group)
        .where(groups_user == user.id)
    )
    return sa.union(own, grouped)


def _role_names(user: AbstractUser) -> Any:
    group = Group.__table__.c
    user_groups, groups_user, groups_group = _link(type(user), "groups")
    return (
        sa.select(group.name)
        .join(user_groups, groups_group == group.id)
        .where(groups_user == user.id)
    )


def _unsaved(user: AbstractUser) -> bool:
    return getattr(user, "id", None) is None


def all_for(user: AbstractUser) -> set[str]:
    """``user.get_all_permissions()``: one query, then cached on the user object."""
    if not user.is_active or _unsaved(user):
        return set()
    cached = user.__dict__.get(_CACHE)
    if cached is None:
        cached = set(sync_session().scalars(_codenames(user)))
        user.__dict__[_CACHE] = cached
    return set(cached)


async def aall_for(user: AbstractUser) -> set[str]:
    """``all_for()`` for async code."""
    if not user.is_active or _unsaved(user):
        return set()
    cached = user.__dict__.get(_CACHE)
    if cached is None:
        cached = set(await async_session().scalars(_codenames(user)))
        user.__dict__[_CACHE] = cached
    return set(cached)


def roles_for(user: AbstractUser) -> set[str]:
    """``user.get_roles()``: the names of the user's groups (cached on the object)."""
    if _unsaved(user):
        return set()
    cached = user.__dict__.get(_ROLES)
    if cached is None:
        cached = user.__dict__[_ROLES] = set(sync_session().scalars(_role_names(user)))
    return set(cached)


async def aroles_for(user: AbstractUser) -> set[str]:
    """``roles_for()`` for async code."""
    if _unsaved(user):
        return set()
    cached = user.__dict__.get(_ROLES)
    if cached is None:
        cached = user.__dict__[_ROLES] = set(await async_session().scalars(_role_names(user)))
    return set(cached)


def forget(user: AbstractUser) -> None:
    """Drop the cached permissions and roles of ``user`` (after changing them)::

    user.groups.append(editors); user.save(); forget(user)
    """
    user.__dict__.pop(_CACHE, None)
    user.__dict__.pop(_ROLES, None)


# --- checks ------------------------------------------------------------------------------------
def _hooks(user: AbstractUser) -> list[Any]:
    auth = type(user)._kettle_auth
    return auth.object_hooks if auth is not None else []


def has_perm(user: AbstractUser, perm: str, obj: Any = None) -> bool:
    """``user.has_perm(perm, obj)`` (see the module docstring)."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if obj is not None:
        for hook in _hooks(user):
            answer = hook(user, perm, obj)
            if inspect.isawaitable(answer):
                if inspect.iscoroutine(answer):
                    answer.close()
                raise TypeError(
                    f"The object permission hook {hook.__qualname__} is async; check "
                    "permissions with `await user.ahas_perm(...)` in async code."
                )
            if answer is not None:
                return bool(answer)
    return perm in all_for(user)


async def ahas_perm(user: AbstractUser, perm: str, obj: Any = None) -> bool:
    """``has_perm()`` for async code; the object hooks may be ``async def`` here."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if obj is not None:
        for hook in _hooks(user):
            answer = hook(user, perm, obj)
            if inspect.isawaitable(answer):
                answer = await answer
            if answer is not None:
                return bool(answer)
    return perm in await aall_for(user)


__all__ = [
    "ACTIONS",
    "async_permissions",
    "forget",
    "perm_for",
    "permission_rows",
    "sync_permissions",
]
