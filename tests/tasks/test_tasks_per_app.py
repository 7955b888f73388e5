"""Two apps with two ``Tasks`` in one process: each app's requests, commands and tasks
enqueue to its own, whichever was made last; scripts use the last one made or ``use()`` d."""

from __future__ import annotations

from pathlib import Path

import pytest
from taskhelpers import make_site

from kettle import App, Settings
from kettle.commands import build
from kettle.tasks import Tasks, current, task
from kettle.tasks._active import activated
from kettle.testing import TestClient


@task
def ping(n: int) -> int:
    return n


@task
def fan_out(n: int) -> None:
    ping.enqueue(n + 1)


def collecting_app(label: str) -> tuple[App, Tasks]:
    app = App(settings=Settings.load(env="testing", env_file=None))
    tasks = Tasks(app, mode="collect")

    @app.post("/ping/<int:n>")
    def enqueue(n: int) -> dict[str, str]:
        ping.enqueue(n)
        return {"app": label}

    @app.post("/aping/<int:n>")
    async def aenqueue(n: int) -> dict[str, str]:
        await ping.aenqueue(n)
        return {"app": label}

    return app, tasks


def args(tasks: Tasks) -> list[list[object]]:
    return [message.args for message in tasks.collected]


def test_each_apps_requests_enqueue_to_its_own_tasks() -> None:
    app_a, tasks_a = collecting_app("a")
    app_b, tasks_b = collecting_app("b")  # made last: the script fallback
    with TestClient(app_a) as client_a, TestClient(app_b) as client_b:
        assert client_a.post("/ping/1").status_code == 200
        assert client_b.post("/ping/2").status_code == 200
        assert client_a.post("/aping/3").status_code == 200
        assert client_b.post("/aping/4").status_code == 200
    assert args(tasks_a) == [[1], [3]]
    assert args(tasks_b) == [[2], [4]]


def test_each_apps_commands_enqueue_to_its_own_tasks() -> None:
    app_a, tasks_a = collecting_app("a")
    _app_b, tasks_b = collecting_app("b")

    def send(n: int) -> None:
        ping.enqueue(n)

    build(app_a, lambda: send(7), "send").main([], standalone_mode=False)
    assert args(tasks_a) == [[7]]
    assert args(tasks_b) == []


def test_scripts_use_the_last_made_or_used_and_activated_wins() -> None:
    _app_a, tasks_a = collecting_app("a")
    _app_b, tasks_b = collecting_app("b")
    assert current() is tasks_b
    ping.enqueue(1)
    tasks_a.use()
    ping.enqueue(2)
    with activated(tasks_b):
        ping.enqueue(3)
    assert current() is tasks_a
    assert (args(tasks_a), args(tasks_b)) == ([[2]], [[1], [3]])


def test_a_task_run_by_its_tasks_enqueues_there() -> None:
    _app_a, tasks_a = collecting_app("a")
    _app_b, tasks_b = collecting_app("b")  # made last
    with activated(tasks_a):
        fan_out.enqueue(1)
    # run_collected runs what the task enqueued too: ping(2) landed in tasks_a
    assert [o.result for o in tasks_a.run_collected()] == [None, 2]
    tasks_a.mode = "eager"
    with activated(tasks_a):
        fan_out.enqueue(10)
    ran = sorted(record.name for record in tasks_a.records.values())
    assert ran == [fan_out.name, fan_out.name, ping.name, ping.name]
    assert args(tasks_b) == []


@pytest.mark.parametrize("order", ["a-first", "b-first"])
def test_two_databases_get_their_own_requests_tasks(tmp_path: Path, order: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        make_site(tmp_path / "a", f"sqlite:///{tmp_path / 'a.sqlite3'}") as site_a,
        make_site(tmp_path / "b", f"sqlite:///{tmp_path / 'b.sqlite3'}") as site_b,
    ):
        for site in (site_a, site_b):

            @site.app.post("/ping/<int:n>")
            def enqueue(n: int) -> dict[str, str]:
                return {"id": ping.enqueue(n).id}

        (site_b if order == "a-first" else site_a).tasks.use()
        with TestClient(site_a.app) as client_a, TestClient(site_b.app) as client_b:
            id_a = client_a.post("/ping/1").json()["id"]
            id_b = client_b.post("/ping/2").json()["id"]
        assert [row.task_id for row in site_a.rows()] == [id_a]
        assert [row.task_id for row in site_b.rows()] == [id_b]


def test_the_tasks_url_setting_picks_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KETTLE_TASKS_URL", raising=False)
    url = "redis://127.0.0.1:6379/5"
    settings = Settings.load(env="testing", env_file=None, environ={"KETTLE_TASKS_URL": url})
    assert settings.tasks_url == url
    assert Tasks(App(settings=settings)).url == url
    default = App(settings=Settings.load(env="testing", env_file=None, environ={}))
    assert Tasks(default).url == "database"
    monkeypatch.setenv("KETTLE_TASKS_URL", url)  # settings made in code: the variable
    assert Tasks(App(settings=Settings(env="testing"))).url == url
