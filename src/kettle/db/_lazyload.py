"""A clear error, instead of SQLAlchemy's ``MissingGreenlet``, for lazy loads in async code.

Async code cannot run SQL behind an attribute access: ``article.author`` on an article
loaded without its author would have to block. SQLAlchemy then raises ``MissingGreenlet``,
which says nothing about the fix. Sessions made by ``Database.make_async_session`` use
``AsyncOrmSession`` underneath, which turns that failure into ``RelationNotLoaded``::

    article = await Article.objects.afirst()
    article.author
    # RelationNotLoaded: Article.author was not loaded. In async code load it up front:
    # Article.objects.select_related('author') (or prefetch_related).

Sync code keeps lazy loading as usual; so does async code where SQLAlchemy runs the load
itself (``prefetch_related``, ``await session.run_sync(...)``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.util.concurrency import in_greenlet

from kettle.db._deferred import UnitSession


class RelationNotLoaded(exc.MissingGreenlet):
    """Async code read a relation (or column) that was not loaded and would need SQL.

    A ``MissingGreenlet`` too, so code that caught SQLAlchemy's error keeps working::

        article = await Article.objects.select_related("author").afirst()
        article.author          # loaded up front: fine in async code
    """

    #: SQLAlchemy's error code, which links its messages to a page of its docs; empty,
    #: since the message says what to do (``select_related``/``prefetch_related``).
    code = ""


class AsyncOrmSession(UnitSession):
    """The ``Session`` inside Kettle's ``AsyncSession``s (see the module docstring)."""


def _preload_hint(owner: type[Any], relation: Any) -> str:
    name = f"{owner.__name__}.{relation.key}"
    manager = f"{owner.__name__}.objects" if hasattr(owner, "objects") else None
    if manager is None:
        return (
            f"{name} was not loaded. In async code load it up front with "
            f"select(...).options(selectinload({name}))."
        )
    if relation.uselist:
        return (
            f"{name} was not loaded. In async code load it up front: "
            f"{manager}.prefetch_related({relation.key!r})."
        )
    return (
        f"{name} was not loaded. In async code load it up front: "
        f"{manager}.select_related({relation.key!r}) (or prefetch_related)."
    )


def _column_hint(state: ORMExecuteState) -> str:
    mapper = state.bind_mapper
    owner = mapper.class_.__name__ if mapper is not None else "An object"
    return (
        f"{owner} has attributes that are not loaded (expired by a rollback, or deferred). "
        f"In async code reload the object first: await obj.arefresh()."
    )


@event.listens_for(AsyncOrmSession, "do_orm_execute")
def _refuse_lazy_load(state: ORMExecuteState) -> None:
    # PERF: plain queries return at once; only loads behind an attribute are looked at.
    if not state.is_select:  # UPDATE, DELETE and text() carry no loader state
        return
    lazy_from = state.lazy_loaded_from
    if lazy_from is None and not state.is_column_load:
        return
    # NOTE: awaited session calls run inside SQLAlchemy's greenlet (2.0 and 2.1 both
    # expose the test); an attribute read in async code does not, and would fail with
    # MissingGreenlet on its first I/O. Refuse before any I/O is attempted.
    if in_greenlet():
        return
    if lazy_from is not None:
        path = state.loader_strategy_path
        relation = path[-1] if path is not None else None
        if relation is not None and hasattr(relation, "uselist"):
            raise RelationNotLoaded(_preload_hint(lazy_from.class_, relation))
    raise RelationNotLoaded(_column_hint(state))


__all__ = ["AsyncOrmSession", "RelationNotLoaded"]
