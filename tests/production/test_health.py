"""/healthz and /readyz: alive without I/O, ready when every dependency answers in time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from kettle import App, Settings
from kettle.cache import Cache
from kettle.db import Database
from kettle.health import Health
from kettle.testing import TestClient
from tcpproxy import Proxy

#: Text that must never reach a client: drivers, error classes, where the server is.
LEAKS = ("psycopg", "asyncpg", "pymysql", "aiomysql", "sqlite", "Error", "127.0.0.1", "refused")


def _app(tmp_path: Path) -> App:
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)

    @app.get("/")
    def index() -> str:
        return "home"

    return app


def test_healthz_is_ok_without_any_dependency(tmp_path: Path) -> None:
    app = _app(tmp_path)
    Health(app)
    with TestClient(app) as client:
        response = client.get("/healthz")
        assert (response.status_code, response.text) == (200, "ok")
        assert response.headers["cache-control"] == "no-store"
        # Probes come from anywhere: no Host check, no session cookie set.
        response = client.get("/healthz", headers={"host": "10.0.0.7:8000"})
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert client.get("/").text == "home"


def test_readyz_checks_the_database_on_each_engine(tmp_path: Path, db_url: str) -> None:
    app = _app(tmp_path)
    Health(app)
    db = Database(app, url=db_url)
    try:
        with TestClient(app) as client:
            response = client.get("/readyz")
            assert response.status_code == 200, response.text
            assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    finally:
        db.dispose()


@pytest.fixture
def pg_proxy(engine_urls: dict[str, str | None]) -> Iterator[tuple[Proxy, str]]:
    url = engine_urls.get("postgresql")
    if url is None:
        pytest.skip("no PostgreSQL server here")
    parsed = sa.make_url(url)
    proxy = Proxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    proxy.start()
    through = parsed.set(host="127.0.0.1", port=proxy.port)
    yield proxy, through.render_as_string(hide_password=False)
    proxy.close()


def test_readyz_is_503_naming_a_database_that_is_down(
    tmp_path: Path, pg_proxy: tuple[Proxy, str]
) -> None:
    proxy, url = pg_proxy
    app = _app(tmp_path)
    Health(app, timeout=3.0)
    Cache(app, "memory://")
    db = Database(app, url=url)
    try:
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            proxy.stop()
            response = client.get("/readyz")
            assert response.status_code == 503
            body = response.json()
            assert body["failed"] == ["database"]
            assert body["checks"] == {"database": "unavailable", "cache": "ok"}
            assert not [leak for leak in LEAKS if leak in response.text]
            # Alive all the same: the process is fine, its database is not.
            assert client.get("/healthz").status_code == 200
            proxy.start()
            assert client.get("/readyz").status_code == 200
    finally:
        db.dispose()


def test_a_slow_check_times_out_and_custom_checks_run(tmp_path: Path) -> None:
    app = _app(tmp_path)
    health = Health(app, timeout=0.2)

    @health.check("search")
    async def search() -> None:
        await asyncio.sleep(30)

    @health.check("mail")
    async def mail() -> None:
        return None

    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"search": "timeout", "mail": "ok"}
    assert response.json()["failed"] == ["search"]


def test_readyz_checks_redis_cache(tmp_path: Path) -> None:
    app = _app(tmp_path)
    Health(app)
    Cache(app, "redis://127.0.0.1:6379/0")
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"cache": "ok"}
    app2 = _app(tmp_path)
    Health(app2, timeout=1.0)
    Cache(app2, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    with TestClient(app2) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]


def test_readyz_checks_the_task_backend(tmp_path: Path) -> None:
    from kettle.tasks import Tasks

    app = _app(tmp_path)
    Health(app)
    db = Database(app, url=f"sqlite:///{tmp_path / 'tasks.db'}")
    Tasks(app)  # the database backend: ready once its table exists
    try:
        with TestClient(app) as client:
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["checks"] == {"database": "ok", "tasks": "unavailable"}
            assert "kettle_tasks" not in response.text  # the reason is logged, not sent
            db.create_all()
            assert client.get("/readyz").status_code == 200
    finally:
        db.dispose()
