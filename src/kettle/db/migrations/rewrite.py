"""The revision rewrite: what Kettle changes in what autogenerate found, before it is written.

Alembic calls ``rewriter(options)`` as ``process_revision_directives``::

    context.configure(..., process_revision_directives=rewriter(options))

It gives ``create_table`` its enum CHECKs, orders drops, renames and the rest so that the
reversed list is a working downgrade, leaves out index drops on dropped tables, names a
revision when no message was given, and writes nothing when nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

from kettle.db.migrations import enums
from kettle.db.migrations.autogen import RenameColumnOp
from kettle.db.migrations.config import RunOptions


def rewriter(options: RunOptions) -> Callable[[MigrationContext, Any, list[Any]], None]:
    """A ``process_revision_directives`` hook for one command."""

    def rewrite(migration_context: MigrationContext, revision: Any, directives: list[Any]) -> None:
        if not directives:
            return
        script: ops.MigrationScript = directives[0]
        pairs = zip(script.upgrade_ops_list, script.downgrade_ops_list, strict=True)
        for upgrade_ops, downgrade_ops in pairs:
            add_enum_checks(migration_context, upgrade_ops)
            if order_renames(upgrade_ops):
                upgrade_ops.reverse_into(downgrade_ops)
            prune_index_drops(upgrade_ops)
            prune_index_drops(downgrade_ops)
        empty = all(upgrade_ops.is_empty() for upgrade_ops in script.upgrade_ops_list)
        if script.message is None:
            script.message = summary(script.upgrade_ops_list[0])
        if options.command == "makemigrations" and not options.data and empty:
            directives[:] = []

    return rewrite


def add_enum_checks(context: MigrationContext, upgrade_ops: ops.UpgradeOps) -> None:
    """Give each ``create_table`` the CHECKs of its enum columns."""
    for op in upgrade_ops.ops:
        if isinstance(op, ops.CreateTableOp):
            checks = enums.constraints_for(op.table_name, op.columns, context.dialect)
            op.columns = [*op.columns, *checks]


def order_renames(upgrade_ops: ops.UpgradeOps) -> bool:
    """Put drops of indexes and constraints before renames, the rest after, so that the
    reverse order works for the downgrade too; returns whether anything moved.

    * a table with column renames is split into three steps: its drops, its renames, the
      rest (separate batches on SQLite, which refers to a renamed column by its old name
      until the batch ends);
    * with table renames, other tables' drops (foreign keys to the old name) go first.
    """
    moved = False
    result: list[ops.MigrateOperation] = []
    for op in upgrade_ops.ops:
        if isinstance(op, ops.ModifyTableOps) and any(
            isinstance(child, RenameColumnOp) for child in op.ops
        ):
            drops, rest = _split_drops(op)
            renames = [child for child in rest if isinstance(child, RenameColumnOp)]
            others = [child for child in rest if child not in renames]
            result.extend(_steps(op, drops, renames, others))
            moved = True
        else:
            result.append(op)
    new_names = {op.new_table_name for op in result if isinstance(op, ops.RenameTableOp)}
    if new_names:
        early: list[ops.MigrateOperation] = []
        late: list[ops.MigrateOperation] = []
        for op in result:
            if isinstance(op, ops.ModifyTableOps) and op.table_name not in new_names:
                drops, rest = _split_drops(op)
                early.extend(_steps(op, drops))
                late.extend(_steps(op, rest))
                moved = moved or bool(drops)
            else:
                late.append(op)
        result = early + late
    upgrade_ops.ops = result
    return moved


def _split_drops(
    op: ops.ModifyTableOps,
) -> tuple[list[ops.MigrateOperation], list[ops.MigrateOperation]]:
    drops: list[ops.MigrateOperation] = [
        c for c in op.ops if isinstance(c, (ops.DropIndexOp, ops.DropConstraintOp))
    ]
    return drops, [c for c in op.ops if c not in drops]


def _steps(
    op: ops.ModifyTableOps, *groups: Sequence[ops.MigrateOperation]
) -> list[ops.ModifyTableOps]:
    return [ops.ModifyTableOps(op.table_name, list(g), schema=op.schema) for g in groups if g]


def prune_index_drops(container: ops.OpContainer) -> None:
    """Leave out ``drop_index`` on tables that are dropped anyway: MariaDB refuses to drop
    an index a foreign key needs, and the table takes its indexes with it."""
    dropped = {
        (op.schema, op.table_name) for op in container.ops if isinstance(op, ops.DropTableOp)
    }
    kept: list[ops.MigrateOperation] = []
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps) and (op.schema, op.table_name) in dropped:
            op.ops = [child for child in op.ops if not isinstance(child, ops.DropIndexOp)]
            if op.is_empty():
                continue
        kept.append(op)
    container.ops = kept


def summary(upgrade_ops: ops.UpgradeOps) -> str:
    """A short message for a revision: ``create article, alter author``."""
    parts: list[str] = []
    for op in upgrade_ops.ops:
        if isinstance(op, ops.CreateTableOp):
            part = f"create {op.table_name}"
        elif isinstance(op, ops.DropTableOp):
            part = f"drop {op.table_name}"
        elif isinstance(op, ops.RenameTableOp):
            part = f"rename {op.table_name} to {op.new_table_name}"
        elif isinstance(op, ops.ModifyTableOps):
            part = f"alter {op.table_name}"
        else:
            part = type(op).__name__.removesuffix("Op").lower()
        if part not in parts:
            parts.append(part)
    if len(parts) > 3:
        parts = [*parts[:3], "more"]
    return ", ".join(parts) or "empty"


__all__ = ["add_enum_checks", "order_renames", "prune_index_drops", "rewriter", "summary"]
