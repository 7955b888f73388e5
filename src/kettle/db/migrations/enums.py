"""Enum members in the database: a named CHECK per enum column, kept in step by autogenerate.

``fields.enum`` stores members as strings (a non-native ``Enum``: ``VARCHAR`` without a
CHECK), so the database alone cannot tell which members a column had. Migrations give each
such column a CHECK named ``ck_<table>_<column>_enum``::

    sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_article_status_enum"))

and autogenerate compares its members with the model's: adding, removing or renaming a
member replaces the CHECK (``drop_constraint`` + ``create_check_constraint``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic.operations import ops
from alembic.util import PriorityDispatchResult
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import conv

# The name create_all gives the CHECK too (kettle.db._mapping), so the two never differ.
from kettle.db._mapping import enum_check_name as check_name

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext

_SUFFIX = "_enum"
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def enum_members(column: sa.Column[Any]) -> tuple[str, ...] | None:
    """The stored values of a string-backed enum column, or None for any other column.

    Enums whose type makes its own CHECK (``create_constraint=True``) or that are native
    database enums are left to SQLAlchemy.
    """
    type_ = column.type
    if not isinstance(type_, sa.Enum) or type_.native_enum or type_.create_constraint:
        return None
    return tuple(type_.enums)


def condition(column: str, members: tuple[str, ...], dialect: Dialect) -> str:
    """``status IN ('draft', 'published')``, quoted for ``dialect``."""
    quoted = dialect.identifier_preparer.quote(column)
    values = ", ".join("'" + value.replace("'", "''") + "'" for value in members)
    return f"{quoted} IN ({values})"


def members_in(sqltext: str) -> tuple[str, ...]:
    """The string literals of a reflected CHECK, in order (each engine words it its own
    way: ``status IN (...)``, ``(status)::text = ANY (ARRAY[...])``)."""
    return tuple(m.replace("''", "'") for m in _LITERAL.findall(sqltext))


def constraints_for(
    table: str, columns: Iterable[Any], dialect: Dialect
) -> list[sa.CheckConstraint]:
    """The enum CHECKs a new table should have, for the columns of its ``create_table``."""
    result = []
    for column in columns:
        members = enum_members(column) if isinstance(column, sa.Column) else None
        if members is not None:
            result.append(
                sa.CheckConstraint(
                    condition(column.name, members, dialect),
                    name=conv(check_name(table, column.name)),
                )
            )
    return result


def compare_enum_checks(
    autogen_context: AutogenContext,
    modify_ops: ops.ModifyTableOps,
    schema: str | None,
    tname: str,
    conn_table: sa.Table | None,
    metadata_table: sa.Table | None,
) -> PriorityDispatchResult:
    """Autogenerate comparator: add, drop or replace enum CHECKs of an existing table.

    New tables get theirs inside ``create_table`` (``constraints_for``).
    """
    if conn_table is None or metadata_table is None:
        return PriorityDispatchResult.CONTINUE
    dialect = autogen_context.migration_context.dialect
    expected: dict[str, tuple[str, tuple[str, ...]]] = {}
    for column in metadata_table.columns:
        members = enum_members(column)
        if members is not None:
            expected[check_name(metadata_table.name, column.name)] = (column.name, members)
    prefix = f"ck_{tname}_"
    existing: dict[str, str] = {}
    for ck in autogen_context.inspector.get_check_constraints(tname, schema=schema):
        name = ck.get("name")
        if name and name.startswith(prefix) and name.endswith(_SUFFIX):
            existing[name] = str(ck["sqltext"])
    # NOTE: drops go first: a renamed column loses its old CHECK before the rename, so the
    # downgrade restores it after renaming back.
    drops: list[ops.MigrateOperation] = []
    for name, sqltext in sorted(existing.items()):
        wanted = expected.get(name)
        if wanted is not None and set(members_in(sqltext)) == set(wanted[1]):
            continue
        old_column = name[len(prefix) : -len(_SUFFIX)]
        restore = (
            condition(old_column, members_in(sqltext), dialect)
            if old_column in conn_table.columns
            else sqltext
        )
        drops.append(
            ops.DropConstraintOp(
                conv(name),
                tname,
                type_="check",
                schema=schema,
                _reverse=ops.CreateCheckConstraintOp(conv(name), tname, restore, schema=schema),
            )
        )
    modify_ops.ops[0:0] = drops
    for name, (column_name, members) in sorted(expected.items()):
        sqltext_now = existing.get(name)
        if sqltext_now is not None and set(members_in(sqltext_now)) == set(members):
            continue
        modify_ops.ops.append(
            ops.CreateCheckConstraintOp(
                conv(name), tname, condition(column_name, members, dialect), schema=schema
            )
        )
    return PriorityDispatchResult.CONTINUE


__all__ = [
    "check_name",
    "compare_enum_checks",
    "condition",
    "constraints_for",
    "enum_members",
    "members_in",
]
