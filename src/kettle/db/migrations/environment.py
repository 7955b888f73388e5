"""What Kettle's env script runs: Alembic's environment, configured from the app's Database.

Alembic runs ``template/env.py`` for each command, which calls ``run_migrations()``::

    from kettle.db.migrations.environment import run_migrations

    run_migrations()

Online, it connects with an engine of its own (SQLite: transactional DDL, foreign keys not
enforced while tables are rebuilt); offline (``kettle db sql``) it renders SQL for the
database's dialect. Autogenerate compares types and server defaults and runs Kettle's
comparators (renames, enum CHECKs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import event
from sqlalchemy.pool import NullPool

from kettle.db.database import split_url
from kettle.db.migrations import autogen, progress
from kettle.db.migrations.config import Project, RunOptions, from_config
from kettle.db.migrations.rewrite import rewriter


def run_migrations() -> None:
    """Run the current Alembic command against the project's database."""
    project, options = from_config(context.config)
    if context.is_offline_mode():
        _run_offline(project, options)
    else:
        _run_online(project, options)


def migration_engine(project: Project) -> sa.Engine:
    """An engine for migrations: no pool, and on SQLite real transactions around DDL with
    foreign keys left unenforced (rebuilding a table must not cascade to its children)."""
    engine = sa.create_engine(split_url(project.database.url)[0], poolclass=NullPool)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def on_connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def on_begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN")

    return engine


def _options(project: Project, options: RunOptions, dialect: str) -> dict[str, Any]:
    return {
        "target_metadata": project.database.metadata,
        # SQLite alters most things by copying the table: Alembic's batch mode.
        "render_as_batch": dialect == "sqlite",
        "compare_type": True,
        "compare_server_default": autogen.compare_server_default,
        "include_object": autogen.include_object(options.renamer),
        "render_item": autogen.render_item,
        "process_revision_directives": rewriter(options),
        "autogenerate_plugins": ["alembic.autogenerate.*", autogen.PLUGIN],
        "template_args": {"kettle_data": options.data},
        # A failed revision leaves the database at the last one that succeeded.
        "transaction_per_migration": True,
        "kettle_renamer": options.renamer,
    }


def _run_offline(project: Project, options: RunOptions) -> None:
    url = split_url(project.database.url)[0]
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(project, options, url.get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online(project: Project, options: RunOptions) -> None:
    engine = migration_engine(project)
    advance: list[Callable[[str], None]] = []

    def on_version_apply(
        ctx: MigrationContext,
        step: MigrationInfo,
        heads: Collection[Any],
        run_args: Mapping[str, Any],
    ) -> None:
        if not step.is_migration:
            return
        verb = "applied" if step.is_upgrade else "reverted"
        label = f"{verb} {step.up_revision_id} {_doc(ctx, step.up_revision_id)}"
        for callback in advance:
            callback(label.strip())

    if options.on_applied is not None:
        advance.append(options.on_applied)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                on_version_apply=on_version_apply,
                **_options(project, options, engine.dialect.name),
            )
            with _progress(options) as bar:
                if bar is not None:
                    advance.append(bar)
                with context.begin_transaction():
                    context.run_migrations()
    finally:
        engine.dispose()


@contextlib.contextmanager
def _progress(options: RunOptions) -> Iterator[Callable[[str], None] | None]:
    if not options.progress or options.command not in ("migrate", "downgrade"):
        yield None
        return
    verb = "Migrating" if options.command == "migrate" else "Downgrading"
    with progress.run(verb, total=_count_steps(options.command)) as advance:
        yield advance


def _count_steps(command: str) -> int | None:
    """How many revisions the command will apply (None if Alembic cannot say up front)."""
    script = context.script
    # Alembic's own upgrade/downgrade commands hand the current heads (a tuple) over here.
    heads: Any = context.get_context().get_current_heads()
    destination = context.get_revision_argument()
    if not isinstance(destination, str):
        return None
    try:
        # NOTE: the step lists Alembic's own upgrade and downgrade commands run.
        if command == "migrate":
            return len(script._upgrade_revs(destination, heads))
        return len(script._downgrade_revs(destination, heads))
    except Exception:  # a relative or unusual target: show a bar without a total
        return None


def _doc(ctx: MigrationContext, revision: str | None) -> str:
    script = ctx.script
    if revision is None or script is None:
        return ""
    return script.get_revision(revision).doc


__all__ = ["migration_engine", "run_migrations"]
