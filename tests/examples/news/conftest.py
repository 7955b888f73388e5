"""Fixtures for the news site's tests: the site on SQLite, PostgreSQL and MariaDB.

``examples/news`` goes on ``sys.path`` so the site imports as ``news``. Each test run
gets a database of its own on each server (``kettle_news_<pid>``), dropped at the end;
without a server its tests skip with a loud warning, and under CI (``CI=true``) a
missing server fails the run instead.

Kettle's models share one SQLAlchemy registry per process, and the data layer's test
models (``tests/db/newsmodels.py``) declare tables named ``article`` and ``comment`` too.
When those are loaded already (a run of the whole suite), this folder is not collected
here: ``tests/examples/test_news_suite.py`` runs it in a pytest process of its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

if TYPE_CHECKING:
    from newssite import Site

NEWS = Path(__file__).resolve().parents[3] / "examples" / "news"
if str(NEWS) not in sys.path:
    sys.path.insert(0, str(NEWS))

from newsisolation import clashing_tables  # noqa: E402

from servers import server_missing  # noqa: E402


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip collecting this folder's modules when their tables would clash (see above)."""
    if collection_path.suffix == ".py" and clashing_tables():
        return True
    return None


SERVERS = {
    "postgresql": os.environ.get(
        "KETTLE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get("KETTLE_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test"),
}
RUN_DB = f"kettle_news_{os.getpid()}"


def _quoted(engine: str) -> str:
    return f'"{RUN_DB}"' if engine == "postgresql" else f"`{RUN_DB}`"


def _server(engine: str, statements: list[str]) -> None:
    from kettle.db.database import split_url

    admin = split_url(SERVERS[engine])[0]
    connection_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with connection_engine.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        connection_engine.dispose()


def _drop(engine: str) -> list[str]:
    end_sessions = (
        [
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{RUN_DB}' AND pid <> pg_backend_pid()"
        ]
        if engine == "postgresql"
        else []
    )
    return [*end_sessions, f"DROP DATABASE IF EXISTS {_quoted(engine)}"]


@pytest.fixture(scope="session")
def engine_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str | None]]:
    """A URL per engine for this run, or None where a server is missing (outside CI)."""
    urls: dict[str, str | None] = {
        "sqlite": f"sqlite:///{tmp_path_factory.mktemp('news') / 'news.sqlite3'}"
    }
    for engine, url in SERVERS.items():
        charset = " CHARACTER SET utf8mb4" if engine == "mysql" else ""
        try:
            _server(engine, [*_drop(engine), f"CREATE DATABASE {_quoted(engine)}{charset}"])
        except Exception as error:  # any failure means "no server here"
            server_missing(engine, url, error, f"every news-site test on {engine}")
            urls[engine] = None
        else:
            urls[engine] = (
                sa.make_url(url).set(database=RUN_DB).render_as_string(hide_password=False)
            )
    yield urls
    for engine in SERVERS:
        if urls[engine] is not None:
            _server(engine, _drop(engine))


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db_url(request: pytest.FixtureRequest, engine_urls: dict[str, str | None]) -> str:
    """The URL of each engine in turn (tests using it run three times)."""
    url = engine_urls[request.param]
    if url is None:
        pytest.skip(f"no {request.param} server here (set CI=true to make this an error)")
    return url


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    """The news site on each engine, its tables empty but for the roles."""
    from newssite import make_site

    built = make_site(db_url)
    yield built
    built.close()


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    """The news site on SQLite only, for what does not depend on the engine."""
    from newssite import make_site

    built = make_site(f"sqlite:///{tmp_path / 'news.sqlite3'}")
    yield built
    built.close()
