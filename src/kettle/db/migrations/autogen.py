"""Kettle's part of autogenerate: comparators for renames and enum CHECKs.

Registered as the Alembic plugin ``kettle.migrations`` (Kettle's env script enables it next
to Alembic's own comparators)::

    context.configure(..., autogenerate_plugins=["alembic.autogenerate.*", PLUGIN],
                      include_object=include_object(renamer), kettle_renamer=renamer)

* a table that disappears while one of the same shape appears becomes ``rename_table``
  when the ``Renamer`` confirms it; the rest of the table is then compared as usual;
* a column likewise becomes ``alter_column(new_column_name=...)``, keeping its rows;
* enum columns get a CHECK of their members (``kettle.db.migrations.enums``).

``kettle.db.migrations.rewrite`` then puts the operations in an order that runs both ways.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import event

from kettle.db.migrations import enums
from kettle.db.migrations.renames import Renamer

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext

#: The plugin name to list in ``autogenerate_plugins``.
PLUGIN = "kettle.migrations"
_RENAMER = "kettle_renamer"


class RenameTableOp(ops.RenameTableOp):
    """``rename_table`` that autogenerate can reverse (Alembic's own cannot)."""

    def reverse(self) -> RenameTableOp:
        """The rename back, for the migration's ``downgrade``."""
        return RenameTableOp(self.new_table_name, self.table_name, schema=self.schema)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        """How Alembic's comparison lists it: ``("rename_table", old, new)``."""
        return ("rename_table", self.table_name, self.new_table_name)


class RenameColumnOp(ops.AlterColumnOp):
    """``alter_column(new_column_name=...)`` whose reverse renames back."""

    def reverse(self) -> ops.AlterColumnOp:
        """The rename back, for the migration's ``downgrade``."""
        reverse = super().reverse()
        reverse.column_name, reverse.modify_name = str(self.modify_name), self.column_name
        return reverse

    def to_diff_tuple(self) -> Any:
        """How Alembic's comparison lists it: ``[("rename_column", table, old, new)]``."""
        return [("rename_column", self.table_name, self.column_name, self.modify_name)]


@renderers.dispatch_for(RenameTableOp)
def _render_rename_table(autogen_context: AutogenContext, op: RenameTableOp) -> str:
    prefix = autogen_context.opts["alembic_module_prefix"]
    schema = f", schema={op.schema!r}" if op.schema else ""
    return f"{prefix}rename_table({op.table_name!r}, {op.new_table_name!r}{schema})"


def renamer_of(autogen_context: AutogenContext) -> Renamer | None:
    """The ``Renamer`` Kettle's env script passed to ``configure`` (None elsewhere)."""
    value = autogen_context.opts.get(_RENAMER)
    return value if isinstance(value, Renamer) else None


def include_object(renamer: Renamer) -> Callable[..., bool]:
    """An ``include_object`` filter hiding what a rename replaces from Alembic's own
    comparison (the old table or column would otherwise be dropped and the new added)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            renamed = renamer.tables if reflected else renamer.tables.values()
            return name not in renamed
        if type_ == "column" and reflected and name is not None:
            return not renamer.is_renamed_column(obj.table.name, name)
        return True

    return include


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> Literal[False]:
    """Alembic ``render_item`` hook: a revision naming a type from outside SQLAlchemy
    (Kettle's ``UTCDateTime``, a project's own) imports that type's module."""
    if type_ == "type":
        module = type(obj).__module__
        if not module.startswith("sqlalchemy") and module != "builtins":
            autogen_context.imports.add(f"import {module}")
    return False


# --- comparators ---------------------------------------------------------------------------
def compare_renamed_tables(
    autogen_context: AutogenContext, upgrade_ops: ops.UpgradeOps, schemas: set[str | None]
) -> PriorityDispatchResult:
    """Find renamed tables before Alembic compares tables; emit ``rename_table`` and the
    changes between the old table and the model's."""
    renamer = renamer_of(autogen_context)
    if renamer is None:
        return PriorityDispatchResult.CONTINUE
    inspector = autogen_context.inspector
    context = autogen_context.migration_context
    for schema in schemas:
        names = {
            name
            for name in inspector.get_table_names(schema=schema)
            if autogen_context.run_name_filters(name, "table", {"schema_name": schema})
        }
        if schema == context.version_table_schema:
            names.discard(context.version_table)
        models = [t for t in autogen_context.sorted_tables if t.schema == schema]
        model_names = {t.name for t in models}
        removed_names = sorted(names - model_names)
        added = [t for t in models if t.name not in names]
        if not removed_names or not added:
            continue
        removed = {name: _reflect(autogen_context, name, schema) for name in removed_names}
        for old, new in renamer.match_tables(list(removed.values()), added).items():
            upgrade_ops.ops.append(RenameTableOp(old, new, schema=schema))
            metadata_table = next(t for t in added if t.name == new)
            modify = ops.ModifyTableOps(old, [], schema=schema)
            _compare_pair(autogen_context, modify, schema, removed[old], metadata_table)
            if not modify.is_empty():
                upgrade_ops.ops.append(_retarget(modify, new))
    return PriorityDispatchResult.CONTINUE


def compare_renamed_columns(
    autogen_context: AutogenContext,
    modify_ops: ops.ModifyTableOps,
    schema: str | None,
    tname: str,
    conn_table: sa.Table | None,
    metadata_table: sa.Table | None,
) -> PriorityDispatchResult:
    """Turn a confirmed drop-and-add of a column into ``alter_column(new_column_name=)``."""
    renamer = renamer_of(autogen_context)
    if renamer is None or conn_table is None or metadata_table is None:
        return PriorityDispatchResult.CONTINUE
    model_names = {c.name for c in metadata_table.columns}
    conn_names = {c.name for c in conn_table.columns}
    removed = [c for c in conn_table.columns if c.name not in model_names]
    added = [c for c in metadata_table.columns if c.name not in conn_names]
    if not removed or not added:
        return PriorityDispatchResult.CONTINUE
    for old, new in renamer.match_columns(tname, metadata_table.name, removed, added).items():
        conn_column = conn_table.columns[old]
        model_column = next(c for c in added if c.name == new)
        rename = RenameColumnOp(tname, old, schema=schema, modify_name=new)
        autogen_context.comparators.dispatch("column", qualifier=_dialect(autogen_context))(
            autogen_context, rename, schema, tname, old, conn_column, model_column
        )
        position = next(
            (
                i
                for i, op in enumerate(modify_ops.ops)
                if isinstance(op, ops.AddColumnOp) and op.column.name == new
            ),
            None,
        )
        if position is None:
            modify_ops.ops.append(rename)
        else:
            modify_ops.ops[position] = rename
    return PriorityDispatchResult.CONTINUE


def compare_server_default(
    context: Any,
    inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's ``compare_server_default`` hook: a text default the database reflects
    quoted and in parentheses (SQLite gives ``('')`` for ``server_default=""``) is the same
    default; anything else is left to Alembic's own comparison (None)."""
    if inspected_default is None:
        return None
    reflected = inspected_default.strip()
    while reflected.startswith("(") and reflected.endswith(")"):
        reflected = reflected[1:-1].strip()
    declared = getattr(metadata_default, "arg", None)
    if isinstance(declared, str):
        quoted = "'" + declared.replace("'", "''") + "'"
        return False if reflected in (declared, quoted) else None
    # sa.false()/sa.true(): 0/1 on engines without a boolean type, false/true elsewhere.
    for element, spellings in ((sa.false(), ("0", "false")), (sa.true(), ("1", "true"))):
        if type(declared) is type(element):
            return False if reflected.strip("'").lower() in spellings else None
    return None


def _dialect(autogen_context: AutogenContext) -> str:
    return autogen_context.migration_context.dialect.name


def _reflect(autogen_context: AutogenContext, name: str, schema: str | None) -> sa.Table:
    table = sa.Table(name, sa.MetaData(), schema=schema)
    impl = autogen_context.migration_context.impl
    event.listen(table, "column_reflect", impl.autogen_column_reflect)
    autogen_context.inspector.reflect_table(table, include_columns=None)
    return table


def _compare_pair(
    autogen_context: AutogenContext,
    modify: ops.ModifyTableOps,
    schema: str | None,
    conn_table: sa.Table,
    metadata_table: sa.Table,
) -> None:
    """Compare a table of the database with the model it was renamed to, as Alembic
    compares a table present on both sides (columns, then the table-level comparators)."""
    tname = conn_table.name
    dispatch = autogen_context.comparators.dispatch
    conn = {
        c.name: c
        for c in conn_table.columns
        if autogen_context.run_name_filters(
            c.name, "column", {"table_name": tname, "schema_name": schema}
        )
    }
    model = {c.name: c for c in metadata_table.columns if not c.system}
    for name, column in model.items():
        if name not in conn and autogen_context.run_object_filters(
            column, name, "column", False, None
        ):
            modify.ops.append(ops.AddColumnOp.from_column_and_tablename(schema, tname, column))
    for name, column in model.items():
        if name in conn:
            alter = ops.AlterColumnOp(tname, name, schema=schema)
            dispatch("column", qualifier=_dialect(autogen_context))(
                autogen_context, alter, schema, tname, name, conn[name], column
            )
            if alter.has_changes():
                modify.ops.append(alter)
    dispatch("table", qualifier=_dialect(autogen_context))(
        autogen_context, modify, schema, tname, conn_table, metadata_table
    )
    for name, column in conn.items():
        if name not in model and autogen_context.run_object_filters(
            column, name, "column", True, None
        ):
            modify.ops.append(ops.DropColumnOp.from_column_and_tablename(schema, tname, column))


def _retarget(modify: ops.ModifyTableOps, new_name: str) -> ops.ModifyTableOps:
    """Point every operation of ``modify`` at the table's new name (they run after the
    rename, and their reverses before the rename back)."""
    modify.table_name = new_name
    stack: list[Any] = list(modify.ops)
    while stack:
        op = stack.pop()
        for attribute in ("table_name", "source_table"):
            if hasattr(op, attribute):
                setattr(op, attribute, new_name)
        reverse = getattr(op, "_reverse", None)
        if reverse is not None:
            stack.append(reverse)
    return modify


def setup(plugin: Plugin) -> None:
    """Alembic plugin hook: register Kettle's comparators."""
    plugin.add_autogenerate_comparator(
        compare_renamed_tables, "schema", "kettle_renames", priority=DispatchPriority.FIRST
    )
    plugin.add_autogenerate_comparator(
        compare_renamed_columns, "table", "kettle_renames", priority=DispatchPriority.FIRST
    )
    plugin.add_autogenerate_comparator(enums.compare_enum_checks, "table", "kettle_enums")


Plugin.setup_plugin_from_module(sys.modules[__name__], PLUGIN)

__all__ = [
    "PLUGIN",
    "RenameColumnOp",
    "RenameTableOp",
    "compare_renamed_columns",
    "compare_renamed_tables",
    "include_object",
    "renamer_of",
    "render_item",
]
