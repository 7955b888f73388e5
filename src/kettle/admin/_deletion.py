"""What deleting rows takes with it: the rows the database removes by ON DELETE CASCADE,
the links it empties (SET NULL) and the rows that forbid the delete (PROTECT/RESTRICT).

The walk follows foreign keys in the tables' metadata, the same rules the database
applies, one SELECT per linked table and level (never per row)::

    plan = plan_deletion([article], label=object_repr)
    plan.protected      # ["Collection entry “#3” (collection_entry.article, PROTECT)"]
    plan.counts         # {"articles": 1, "comments": 4, "votes": 12}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from kettle.admin._display import capfirst, verbose_name, verbose_name_plural
from kettle.db.fields import FieldInfo
from kettle.db.models import Model
from kettle.db.session import sync_session

#: Rows listed per linked table and level; beyond it the page says "and N more".
LIST_LIMIT = 200
_CHUNK = 500


@dataclass(slots=True)
class Node:
    """One row to delete and the rows that go with it::

    Node("Article: Steam", "/admin/article/7/change", [Node("Comment: Nice")])
    """

    label: str
    url: str | None = None
    children: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class DeletionPlan:
    """The outcome of ``plan_deletion`` (see the module docstring)."""

    roots: list[Node]
    #: Rows to delete per model (verbose plural name), the chosen ones included.
    counts: dict[str, int]
    #: Rows whose links refuse the delete; the delete is impossible while any remain.
    protected: list[str]
    #: Rows that stay but lose a link (SET NULL), per model.
    unlinked: dict[str, int]
    #: Model classes with rows in the cascade (the chosen ones' class included).
    models: set[type[Any]]
    #: Whether some rows were not listed (``LIST_LIMIT``); the counts stay exact.
    truncated: bool = False
    #: The singular of each name in ``counts`` and ``unlinked``.
    singular: dict[str, str] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """``counts`` as text: ``["1 post", "4 remarks"]``."""
        return [_counted(self, name, count) for name, count in self.counts.items()]

    def unlinked_summary(self) -> list[str]:
        """``unlinked`` as text: ``["2 comments"]``."""
        return [_counted(self, name, count) for name, count in self.unlinked.items()]


def _counted(plan: DeletionPlan, name: str, count: int) -> str:
    return f"{count:,} {plan.singular.get(name, name) if count == 1 else name}"


Label = Callable[[Any], str]
Link = Callable[[Any], "str | None"]


def plan_deletion(
    objects: Sequence[Model], label: Label, link: Link = lambda obj: None
) -> DeletionPlan:
    """Walk the cascade from ``objects`` (all of one model); ``label(obj)`` names a row
    and ``link(obj)`` may give the URL of its page::

        plan_deletion(chosen, label=admin.object_repr, link=admin.change_url)
    """
    if not objects:
        return DeletionPlan([], {}, [], {}, set())
    model = type(objects[0])
    classes = {m.local_table: m.class_ for m in Model.registry.mappers}
    roots = {_pk(o): Node(_titled(o, label), link(o)) for o in objects}
    plan = DeletionPlan(list(roots.values()), {}, [], {}, {model})
    _add(plan, plan.counts, model, len(objects))
    table = model.__table__
    assert isinstance(table, sa.Table)
    _Walker(plan, classes, label, link).visit(table, roots)
    return plan


def _add(plan: DeletionPlan, into: dict[str, int], cls: Any, count: int, table: str = "") -> None:
    if cls is not None:
        name, one = verbose_name_plural(cls), verbose_name(cls)
    else:  # rows of an association table: links between two models
        name, one = f"{table} links", f"{table} link"
    plan.singular[name] = one
    into[name] = into.get(name, 0) + count


def _pk(obj: Any) -> Any:
    return sa.inspect(obj).identity[0]


def _titled(obj: Any, label: Label) -> str:
    return f"{capfirst(verbose_name(type(obj)))}: {label(obj)}"


class _Walker:
    def __init__(self, plan: DeletionPlan, classes: dict[Any, Any], label: Label, link: Link):
        self.plan = plan
        self.classes = classes
        self.label = label
        self.link = link
        self.seen: dict[Any, set[Any]] = {}

    def visit(self, table: sa.Table, nodes: dict[Any, Node]) -> None:
        """Look at every table that points at ``table``'s rows ``nodes`` (by primary key)."""
        self.seen.setdefault(table, set()).update(nodes)
        for other in list(table.metadata.tables.values()):
            for fk in other.foreign_keys:
                if fk.column.table is table and fk.column.primary_key:
                    self._follow(other, fk, nodes)

    def _follow(self, other: sa.Table, fk: sa.ForeignKey, nodes: dict[Any, Node]) -> None:
        rule = (fk.ondelete or "NO ACTION").upper()
        cls = self.classes.get(other)
        ids = list(nodes)
        if rule == "SET NULL":
            count = self._count(other, fk, ids)
            if count:
                _add(self.plan, self.plan.unlinked, cls, count, other.name)
            return
        if rule != "CASCADE":
            for row in self._rows(other, fk, ids, cls, LIST_LIMIT):
                info = fk.parent.info.get("kettle")
                how = info.on_delete if isinstance(info, FieldInfo) and info.on_delete else rule
                what = _titled(row, self.label) if cls is not None else other.name
                self.plan.protected.append(f"{what} ({other.name}.{fk.parent.name}, {how})")
            return
        if cls is None:  # a many-to-many association table: its rows are links
            count = self._count(other, fk, ids)
            if count:
                _add(self.plan, self.plan.counts, None, count, other.name)
            return
        self._cascade(other, fk, nodes, cls)

    def _cascade(
        self, other: sa.Table, fk: sa.ForeignKey, nodes: dict[Any, Node], cls: Any
    ) -> None:
        seen = self.seen.setdefault(other, set())
        found: dict[Any, Node] = {}
        fk_key = fk.parent.key
        for row in self._rows(other, fk, list(nodes), cls, None):
            pk = _pk(row)
            if pk in seen or pk in found:
                continue
            found[pk] = node = Node(_titled(row, self.label), self.link(row))
            parent = nodes.get(row.__dict__.get(_attr(cls, fk_key)))
            if parent is not None and len(parent.children) < LIST_LIMIT:
                parent.children.append(node)
            else:
                self.plan.truncated = True
        if not found:
            return
        _add(self.plan, self.plan.counts, cls, len(found))
        self.plan.models.add(cls)
        self.visit(other, found)

    def _rows(
        self, other: sa.Table, fk: sa.ForeignKey, ids: list[Any], cls: Any, limit: int | None
    ) -> list[Any]:
        rows: list[Any] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            if cls is None:
                stmt: Any = sa.select(other).where(fk.parent.in_(chunk))
                rows.extend(sync_session().execute(stmt.limit(limit) if limit else stmt).all())
            else:
                stmt = sa.select(cls).where(fk.parent.in_(chunk))
                rows.extend(sync_session().scalars(stmt.limit(limit) if limit else stmt).all())
            if limit is not None and len(rows) >= limit:
                return rows[:limit]
        return rows

    def _count(self, other: sa.Table, fk: sa.ForeignKey, ids: list[Any]) -> int:
        total = 0
        for start in range(0, len(ids), _CHUNK):
            stmt = sa.select(sa.func.count()).select_from(other)
            stmt = stmt.where(fk.parent.in_(ids[start : start + _CHUNK]))
            total += int(sync_session().scalar(stmt) or 0)
        return total


def _attr(cls: Any, column_key: str) -> str:
    """The attribute name under which ``cls`` maps the column ``column_key``."""
    mapper = sa.inspect(cls)
    return str(mapper.get_property_by_column(mapper.local_table.c[column_key]).key)


__all__ = ["LIST_LIMIT", "DeletionPlan", "Node", "plan_deletion"]
