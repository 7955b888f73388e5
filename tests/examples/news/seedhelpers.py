"""Helpers for the news site's seed and demo tests: run ``python -m news``, read the rows.

The demo commands run in a process of their own, as a newcomer runs them, and the tests
read the database with plain SQLAlchemy Core: nothing of the news site is imported here,
so these tests cannot clash with other tests' models of the same table names.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

NEWS = Path(__file__).resolve().parents[3] / "examples" / "news"
POSTGRES = os.environ.get("KETTLE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
MARIADB = os.environ.get("KETTLE_TEST_MARIADB", "mysql://root@127.0.0.1:3306/test")
#: Small counts for tests (the demo's are 1,000 / 10,000 / 100,000 / 30,000 / 20,000).
SMALL = {"users": 40, "articles": 200, "votes": 1_500, "comments": 400, "comment_votes": 120}
NOW = "2026-03-01T12:00:00"  # --now: the moment the seed data leads up to
SEED_TABLES = ("auth_user", "article", "article_vote", "comment", "comment_vote")


def news_env(url: str, counts: dict[str, int] | None = None) -> dict[str, str]:
    """The environment of ``python -m news`` on URL with COUNTS (default SMALL)."""
    env = {**os.environ, "DATABASE_URL": url, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("KETTLE_ENV", None)
    env.update({f"NEWS_SEED_{k.upper()}": str(v) for k, v in (counts or SMALL).items()})
    return env


def news(
    *args: str, url: str, counts: dict[str, int] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m news ARGS`` from examples/news; fails the test when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "news", *args],
        cwd=NEWS,
        env=news_env(url, counts),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"python -m news {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


def demo(url: str, counts: dict[str, int] | None = None) -> str:
    """``python -m news demo --no-serve --now NOW`` on URL; returns what it printed."""
    return news("demo", "--no-serve", "--now", NOW, url=url, counts=counts).stdout


def engine_for(url: str) -> sa.Engine:
    """A plain engine on URL (psycopg 3 for PostgreSQL, as Kettle uses)."""
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "mysql":
        parsed = parsed.set(drivername="mysql+pymysql")
    return sa.create_engine(parsed)


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params: Any) -> Any:
    return query(url, sql, **params)[0][0]


def execute(url: str, *statements: str) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def dump(url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of the seed tables, ordered by id, each value as text."""
    return {
        table: [tuple(map(str, row)) for row in query(url, f"SELECT * FROM {table} ORDER BY id")]
        for table in SEED_TABLES
    }


def _server() -> sa.Engine:
    url = sa.make_url(POSTGRES).set(drivername="postgresql+psycopg")
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A new database NAME on the test server, dropped afterwards.

    No server: the test skips with a loud warning, or fails under CI (``CI=true``).
    """
    server = _server()
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        server.dispose()
        message = f"no PostgreSQL server at {POSTGRES} ({str(error.orig).strip()[:120]})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {message}; start it (see the README's Development section).")
        warnings.warn(f"SKIPPING the news seed tests on PostgreSQL: {message}", stacklevel=1)
        pytest.skip(message + " (set CI=true to make this an error)")
    try:
        url = sa.make_url(POSTGRES).set(drivername="postgresql", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@contextmanager
def mariadb_database(name: str) -> Iterator[str]:
    """A new database NAME on the MariaDB test server, dropped afterwards (no server: a
    loud skip, or a failure under CI)."""
    server = engine_for(MARIADB)
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
            connection.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    except sa.exc.OperationalError as error:
        server.dispose()
        message = f"no MariaDB server at {MARIADB} ({str(error.orig).strip()[:120]})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {message}; start it (see the README's Development section).")
        warnings.warn(f"SKIPPING the news seed tests on MariaDB: {message}", stacklevel=1)
        pytest.skip(message + " (set CI=true to make this an error)")
    try:
        yield sa.make_url(MARIADB).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        server.dispose()


def database_url(engine: str, tmp_path: Path, name: str) -> Iterator[str]:
    """A fresh database on ENGINE ("sqlite", "postgresql" or "mysql") for a fixture."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / name}.sqlite3"
        return
    make = postgres_database if engine == "postgresql" else mariadb_database
    with make(f"kettle_seed_{os.getpid()}_{name}") as url:
        yield url
