"""Start-up is safe however it is entered: several test clients of one app at once, from
threads (each with an event loop of its own), or a TestClient beside an AsyncTestClient,
on every engine (issue #12: on PostgreSQL these crashed with "no attribute
'default_isolation_level'" and "attached to a different loop")."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from newsmodels import User

from kettle import App, Settings
from kettle.db import Database
from kettle.testing import AsyncTestClient, TestClient

CLIENTS = 6


@pytest.fixture
def fresh(db: Database, db_url: str, tmp_path: Path) -> Iterator[list[App]]:
    """Apps on the ``db`` fixture's tables, each with a Database that has not connected
    yet (so every first connection, and its dialect set-up, happens in the test)."""
    with db.session():
        User.objects.create(username="ann")
    apps = []
    for _ in range(3):
        app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
        Database(app, url=db_url)

        @app.get("/async")
        async def count_async() -> dict[str, int]:
            return {"users": await User.objects.acount()}

        @app.get("/sync")
        def count_sync() -> dict[str, int]:
            return {"users": User.objects.count()}

        apps.append(app)
    yield apps
    for app in apps:
        app.state.db.dispose()


def visit_at_once(app: App) -> list[tuple[int, str]]:
    """CLIENTS TestClients of ``app`` entered from as many threads at once; each asks the
    async route first (the first connections race there), then both routes."""
    ready = threading.Barrier(CLIENTS)

    def visit(_: int) -> list[tuple[int, str]]:
        with TestClient(app) as client:
            ready.wait(timeout=30)
            paths = ["/async", "/sync", "/async"]
            seen = [(r.status_code, r.text) for r in map(client.get, paths)]
            ready.wait(timeout=30)  # nobody shuts down while others still ask
        return seen

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [answer for answers in pool.map(visit, range(CLIENTS)) for answer in answers]


def test_several_test_clients_start_one_app_at_once(fresh: list[App]) -> None:
    for app in fresh:
        answers = visit_at_once(app)
        assert answers == [(200, '{"users":1}')] * CLIENTS * 3


def test_a_test_client_beside_an_async_test_client(fresh: list[App]) -> None:
    async def both(app: App) -> list[int]:
        with TestClient(app) as sync_client:
            async with AsyncTestClient(app) as async_client:

                def ask_in_a_thread() -> list[int]:
                    paths = ["/async", "/sync"] * 3
                    return [sync_client.get(path).status_code for path in paths]

                answers = await asyncio.gather(
                    asyncio.to_thread(ask_in_a_thread),
                    *(async_client.get(path) for path in ["/async", "/sync"] * 3),
                )
            statuses = answers[0] + [r.status_code for r in answers[1:]]
            statuses.append(sync_client.get("/async").status_code)
        return statuses

    for app in fresh:
        assert asyncio.run(both(app)) == [200] * 13


def test_many_first_requests_in_one_loop(fresh: list[App]) -> None:
    async def first_requests(app: App) -> list[int]:
        async with AsyncTestClient(app) as client:
            answers = await asyncio.gather(*(client.get("/async") for _ in range(10)))
        return [r.status_code for r in answers]

    for app in fresh:
        assert asyncio.run(first_requests(app)) == [200] * 10
