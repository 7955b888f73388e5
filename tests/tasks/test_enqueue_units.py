"""Enqueueing inside a kettle.db unit of work: sent when it commits, never when it rolls
back (SQLite, PostgreSQL, MariaDB); unique keys; the database down at enqueue."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import sqlalchemy as sa
from taskhelpers import RUNS, TaskSite, make_site

from kettle.db import async_session, sync_session
from kettle.db.session import on_commit
from kettle.exceptions import HTTPException
from kettle.tasks import TaskMessage, TasksUnavailable, task
from kettle.testing import TestClient


@task
def note(n: int) -> int:
    return n


def routes(site: TaskSite) -> None:
    @site.app.post("/def/<int:n>")
    def enqueue_def(n: int) -> dict[str, str]:
        sync_session().execute(RUNS.insert().values(key=f"def{n}", pid=0, started=0, finished=0))
        handle = note.enqueue(n)
        if n == 0:
            raise HTTPException(409, "rolled back")
        return {"id": handle.id}

    @site.app.post("/async/<int:n>")
    async def enqueue_async(n: int) -> dict[str, str]:
        await async_session().execute(
            RUNS.insert().values(key=f"async{n}", pid=0, started=0, finished=0)
        )
        handle = await note.aenqueue(n)
        if n == 0:
            raise HTTPException(409, "rolled back")
        return {"id": handle.id}

    @site.app.post("/unique/<key>")
    def unique(key: str) -> dict[str, str]:
        return {"id": note.options(unique_key=key).enqueue(1).id}


def rolled_back(site: TaskSite, work: Callable[[], object]) -> None:
    with site.db.session():
        work()
        raise RuntimeError("roll back")


@pytest.mark.parametrize("kind", ["def", "async"])
def test_a_request_commits_its_tasks_with_its_writes(site: TaskSite, kind: str) -> None:
    routes(site)
    with TestClient(site.app) as client:
        ok = client.post(f"/{kind}/1")
        assert ok.status_code == 200, ok.text
        failed = client.post(f"/{kind}/0")
        assert failed.status_code == 409
    rows = site.rows()
    assert [(row.task_id, row.state, row.payload) for row in rows] == [
        (ok.json()["id"], "pending", '{"args":[1],"kwargs":{}}')
    ]
    assert [str(run.key) for run in site.runs()] == [f"{kind}1"]
    assert site.tasks.backend.get(ok.json()["id"]).state == "pending"  # type: ignore[union-attr]


def test_db_session_commits_or_rolls_back_its_tasks(site: TaskSite) -> None:
    with site.db.session():
        kept = note.enqueue(1)
    with pytest.raises(RuntimeError):
        rolled_back(site, lambda: note.enqueue(2))
    assert [row.task_id for row in site.rows()] == [kept.id]
    outside = note.enqueue(3)  # no unit of work: a transaction of its own
    assert outside.refresh().state == "pending"


def test_a_unique_key_collapses_enqueues_while_the_task_is_active(site: TaskSite) -> None:
    routes(site)
    with TestClient(site.app) as client:
        first = client.post("/unique/k").json()["id"]
        assert client.post("/unique/k").json()["id"] == first
        other = client.post("/unique/other").json()["id"]
    assert other != first
    with site.db.session():
        assert note.options(unique_key="k").enqueue(5).id == first
    assert len(site.rows()) == 2
    # Once it is no longer pending or running, the key is free again.
    assert site.tasks.backend.cancel(first)  # type: ignore[attr-defined]
    again = note.options(unique_key="k").enqueue(1)
    assert again.id != first
    assert len(site.rows()) == 3


class ListBackend:
    """A backend that keeps what it is sent in a list (a stand-in for a broker)."""

    name = "list"

    def __init__(self, site: TaskSite) -> None:
        self.site = site
        self.sent: list[tuple[str, list[str]]] = []

    def send(self, messages: Sequence[TaskMessage]) -> None:
        # What the request wrote is committed (visible to another connection) by now.
        self.sent.append(("sync", [str(r.key) for r in self.site.runs()]))

    async def asend(self, messages: Sequence[TaskMessage]) -> None:
        self.sent.append(("async", [str(r.key) for r in self.site.runs()]))

    def check(self) -> None:
        if self.down:
            raise TasksUnavailable("The list is down.")

    down = False


def test_other_backends_are_sent_to_after_the_commit(site: TaskSite) -> None:
    routes(site)
    backend = ListBackend(site)
    site.tasks.backend = backend  # type: ignore[assignment]
    with TestClient(site.app) as client:
        assert client.post("/def/1").status_code == 200
        assert client.post("/def/0").status_code == 409
        assert client.post("/async/2").status_code == 200
        assert client.post("/async/0").status_code == 409
    with site.db.session():
        note.enqueue(3)
    assert backend.sent == [
        ("sync", ["def1"]),
        ("async", ["def1", "async2"]),
        ("sync", ["def1", "async2"]),
    ]


def test_on_commit_runs_after_commit_only(sqlite_site: TaskSite) -> None:
    done: list[str] = []
    with sqlite_site.db.session():
        on_commit(lambda: done.append("committed"))
        assert done == []
    with pytest.raises(RuntimeError):
        rolled_back(sqlite_site, lambda: on_commit(lambda: done.append("rolled back")))
    on_commit(lambda: done.append("no unit"))
    assert done == ["committed", "no unit"]


def test_the_database_down_at_enqueue_is_a_503_and_a_clear_error(tmp_path: object) -> None:
    from pathlib import Path

    from servers import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    site = TaskSite.__new__(TaskSite)
    from kettle import App, Settings
    from kettle.db import Database
    from kettle.tasks import Tasks

    app = App(settings=Settings.load(env="testing", env_file=None), root=Path(str(tmp_path)))
    Database(app, url=url)
    tasks = Tasks(app)
    site.app, site.tasks = app, tasks

    @app.post("/")
    def enqueue() -> str:
        note.enqueue(1)
        return "queued"

    with TestClient(app) as client:
        response = client.post("/")
    assert response.status_code == 503
    assert "temporarily unavailable" in response.text
    with pytest.raises(TasksUnavailable, match="The task database is unreachable"):
        note.enqueue(1)


def test_tasks_need_a_database_for_the_database_backend(tmp_path: object) -> None:
    from pathlib import Path

    from kettle import App, Settings
    from kettle.exceptions import ConfigurationError
    from kettle.tasks import Tasks

    app = App(settings=Settings.load(env="testing", env_file=None), root=Path(str(tmp_path)))
    tasks = Tasks(app)
    with pytest.raises(ConfigurationError, match="the app has none"):
        note.enqueue(1)
    with pytest.raises(ConfigurationError, match="the app has none"):
        tasks.backend.check()  # every use says what to do
    with pytest.raises(ConfigurationError, match="names no task backend"):
        Tasks(app, url="kafka://localhost").backend  # noqa: B018


def test_make_site_leaves_no_rows(sqlite_site: TaskSite, tmp_path: object) -> None:
    from pathlib import Path

    with make_site(Path(str(tmp_path)), sqlite_site.url) as other:
        assert other.rows() == []
    with sqlite_site.db.sync_engine.connect() as connection:
        assert not sa.inspect(connection).has_table("task_runs")


def test_a_broker_down_at_enqueue_fails_the_request_before_it_writes(site: TaskSite) -> None:
    routes(site)
    backend = ListBackend(site)
    backend.down = True
    site.tasks.backend = backend  # type: ignore[assignment]
    with TestClient(site.app) as client:
        assert client.post("/def/1").status_code == 503
        response = client.post("/async/2")
    assert response.status_code == 503
    assert response.json()["detail"] == (
        "The service is temporarily unavailable; please try again in a moment."
    )
    assert backend.sent == []
    assert site.runs() == []  # the requests' own writes were rolled back
