"""Enqueues inside a kettle.db unit of work with the Redis backend: sent when the request
commits, never when it rolls back, and Redis down at enqueue answers 503 with nothing
written; Redis lost between the enqueue and the commit delays the task, never loses it
(SQLite for the request's own writes; the real Redis behind a TCP proxy)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from taskhelpers import wait_until

from kettle import App, HTTPException, Settings
from kettle.db import Database, Model, fields
from kettle.tasks import Tasks, task
from kettle.testing import TestClient
from tcpproxy import Proxy

REDIS = "redis://127.0.0.1:6379/0"


class Signup(Model):
    email: str = fields.string(max_length=100)

    class Meta:
        table_name = "h8_signup"


@task(name="h8u.welcome")
def welcome(email: str) -> None: ...


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    running = Proxy("127.0.0.1", 6379)
    running.start()
    yield running
    running.close()


@pytest.fixture
def site(tmp_path: Path, proxy: Proxy) -> Iterator[tuple[App, Database, Tasks]]:
    namespace = f"ku{uuid.uuid4().hex[:10]}"
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    db = Database(app, url=f"sqlite:///{tmp_path / 'units.sqlite3'}")
    tasks = Tasks(app, url=f"redis://127.0.0.1:{proxy.port}/0?namespace={namespace}")

    @app.post("/signup")
    def signup(email: str, fail: bool = False) -> dict[str, str]:
        Signup.objects.create(email=email)
        handle = welcome.enqueue(email)
        if fail:
            raise HTTPException(409, "taken")
        return {"task": handle.id}

    @app.post("/asignup")
    async def asignup(email: str, fail: bool = False) -> dict[str, str]:
        await Signup.objects.acreate(email=email)
        handle = await welcome.aenqueue(email)
        if fail:
            raise HTTPException(409, "taken")
        return {"task": handle.id}

    Signup.__table__.create(db.sync_engine)  # type: ignore[attr-defined]
    yield app, db, tasks
    Signup.__table__.drop(db.sync_engine)  # type: ignore[attr-defined]
    db.dispose()
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{namespace}:*", count=1000):
        client.delete(key)


def emails(db: Database) -> list[str]:
    with db.session():
        return sorted(s.email for s in Signup.objects.all())


@pytest.mark.parametrize("path", ["/signup", "/asignup"])
def test_sent_when_the_request_commits_and_never_when_it_rolls_back(site, path) -> None:
    app, db, tasks = site
    with TestClient(app) as client:
        done = client.post(f"{path}?email=ann@example.org")
        assert done.status_code == 200
        record = tasks.backend.get(done.json()["task"])
        assert (record.name, record.state) == ("h8u.welcome", "pending")
        assert client.post(f"{path}?email=bob@example.org&fail=true").status_code == 409
    assert emails(db) == ["ann@example.org"]
    assert [r.name for r in tasks.backend.list()] == ["h8u.welcome"]  # only ann's


@pytest.mark.parametrize("path", ["/signup", "/asignup"])
def test_redis_down_at_enqueue_is_a_503_with_nothing_written(site, proxy, path) -> None:
    app, db, tasks = site
    proxy.stop()
    with TestClient(app) as client:
        response = client.post(f"{path}?email=ann@example.org")
    proxy.start()
    assert response.status_code == 503
    assert emails(db) == []
    assert tasks.backend.list() == []


@pytest.mark.parametrize("path", ["/signup", "/asignup"])
def test_redis_down_longer_than_check_every_is_a_503(site, proxy, path) -> None:
    app, db, tasks = site
    tasks.backend.check_every = 0.2  # an answer vouches for Redis this long, no longer
    with TestClient(app) as client:
        assert client.post(f"{path}?email=ann@example.org").status_code == 200
        assert tasks.backend.answered_lately()  # the send answered: no PING for a while
        proxy.stop()
        time.sleep(0.3)
        assert not tasks.backend.answered_lately()
        response = client.post(f"{path}?email=bob@example.org")
    proxy.start()
    assert response.status_code == 503
    assert emails(db) == ["ann@example.org"]
    assert [r.name for r in tasks.backend.list()] == ["h8u.welcome"]  # only ann's


@pytest.mark.parametrize("path", ["/signup", "/asignup"])
def test_redis_down_at_the_commit_sends_the_task_once_it_is_back(site, proxy, path) -> None:
    app, db, tasks = site
    tasks.backend.check_every = 60.0  # Redis goes down while an answer still vouches for it
    with TestClient(app) as client:
        assert client.post(f"{path}?email=ann@example.org").status_code == 200
        proxy.stop()
        late = client.post(f"{path}?email=bob@example.org")
        assert late.status_code == 200  # the commit is in: the response does not fail
        assert tasks.backend._outbox.waiting == 1  # the task waits in the process
        # The failed send at the commit ended the trust: the next request pings, and 503s.
        assert client.post(f"{path}?email=cid@example.org").status_code == 503
    assert emails(db) == ["ann@example.org", "bob@example.org"]
    proxy.start()
    wait_until(lambda: tasks.backend._outbox.waiting == 0, what="the outbox to empty")
    record = tasks.backend.get(late.json()["task"])
    assert (record.name, record.state) == ("h8u.welcome", "pending")
    assert len(tasks.backend.list()) == 2  # ann's and bob's, each once; cid's never
