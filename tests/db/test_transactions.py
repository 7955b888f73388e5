"""Transactions: one unit of work per request through real handlers, and ``atomic``."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from dbhelpers import arun
from newsmodels import Tag, User

from kettle import App
from kettle.db import Database, NoUnitOfWork, atomic, sync_session
from kettle.exceptions import HTTPException
from kettle.requests import Request
from kettle.responses.base import Response
from kettle.testing import TestClient

KINDS = ["def", "async"]


def usernames(db: Database) -> set[str]:
    """What is committed, read in a session of its own."""
    with db.session() as session:
        return set(session.scalars(sa.select(User.username)))


def _create_route(app: App, kind: str, check: Any = None) -> None:
    """POST /users/<name>: a def or async def handler that creates the user, then calls
    ``check(name)``, which may raise."""
    if kind == "def":

        @app.post("/users/<name>")
        def create(name: str) -> dict[str, str]:
            User.objects.create(username=name)
            if check is not None:
                check(name)
            return {"created": name}

    else:

        @app.post("/users/<name>")
        async def acreate(name: str) -> dict[str, str]:
            await User.objects.acreate(username=name)
            if check is not None:
                check(name)
            return {"created": name}


# --- the unit of work of a request -----------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_success_is_committed(app: App, db: Database, kind: str) -> None:
    _create_route(app, kind)
    with TestClient(app) as client:
        assert client.post("/users/ann").json() == {"created": "ann"}
    assert usernames(db) == {"ann"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("error", "status"),
    [(RuntimeError("boom"), 500), (HTTPException(409, "Taken."), 409)],
    ids=["exception", "http-exception"],
)
def test_error_after_a_write_leaves_nothing_written(
    app: App, db: Database, kind: str, error: Exception, status: int
) -> None:
    if kind == "def":

        @app.post("/users/<name>")
        def create(name: str) -> None:
            User.objects.create(username=name)
            assert sync_session().scalar(sa.select(sa.func.count()).select_from(User)) == 1
            raise error

    else:

        @app.post("/users/<name>")
        async def acreate(name: str) -> None:
            await User.objects.acreate(username=name)
            assert await User.objects.acount() == 1
            raise error

    with TestClient(app) as client:
        assert client.post("/users/ann").status_code == status
    assert usernames(db) == set()


@pytest.mark.parametrize("hook_kind", KINDS)
@pytest.mark.parametrize("kind", KINDS)
def test_writes_in_before_request_hooks_belong_to_the_unit(
    app: App, db: Database, kind: str, hook_kind: str
) -> None:
    if kind != hook_kind and db.dialect == "sqlite":
        pytest.skip(
            "a def hook and an async handler use two connections; on SQLite the second "
            "writer waits for the first one's lock (see kettle.db.session)"
        )
    if hook_kind == "def":

        @app.before_request
        def audit(request: Request) -> None:
            User.objects.create(username=f"hook-{request.path_params['name']}")

    else:

        @app.before_request
        async def aaudit(request: Request) -> None:
            await User.objects.acreate(username=f"hook-{request.path_params['name']}")

    def check(name: str) -> None:
        if name == "bad":
            raise HTTPException(400, "No.")

    _create_route(app, kind, check)
    with TestClient(app) as client:
        assert client.post("/users/good").status_code == 200
        assert client.post("/users/bad").status_code == 400
    assert usernames(db) == {"hook-good", "good"}


@pytest.mark.parametrize("kind", KINDS)
def test_failing_after_request_hook_rolls_back(app: App, db: Database, kind: str) -> None:
    @app.after_request
    def refuse(request: Request, response: Response) -> None:
        raise RuntimeError("the after hook failed")

    _create_route(app, kind)
    with TestClient(app) as client:
        assert client.post("/users/ann").status_code == 500
    assert usernames(db) == set()


def test_connections_go_back_to_the_pool(app: App, db: Database) -> None:
    @app.post("/users/<name>")
    def create(name: str) -> None:
        User.objects.create(username=name)
        if name == "bad":
            raise RuntimeError("boom")

    with TestClient(app) as client:
        for name in ("a", "bad", "b"):
            client.post(f"/users/{name}")
    assert db.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert usernames(db) == {"a", "b"}


# --- atomic ----------------------------------------------------------------------------------
def _create_in_atomic(name: str, fail: bool, block: Any = None) -> None:
    with block or atomic():
        User.objects.create(username=name)
        if fail:
            raise RuntimeError(f"undo {name}")


async def _acreate_in_atomic(name: str, fail: bool) -> None:
    async with atomic():
        await User.objects.acreate(username=name)
        if fail:
            raise RuntimeError(f"undo {name}")


def test_failed_atomic_block_rolls_back_only_itself(db: Database) -> None:
    with db.session():
        User.objects.create(username="before")
        with pytest.raises(RuntimeError):
            _create_in_atomic("inside", fail=True)
        _create_in_atomic("after", fail=False)
    assert usernames(db) == {"before", "after"}


async def _async_block(db: Database) -> None:
    async with db.async_session():
        await User.objects.acreate(username="before")
        with pytest.raises(RuntimeError):
            await _acreate_in_atomic("inside", fail=True)
        await _acreate_in_atomic("after", fail=False)


def test_failed_async_atomic_block_rolls_back_only_itself(db: Database) -> None:
    arun(db, lambda: _async_block(db))
    assert usernames(db) == {"before", "after"}


def test_database_error_inside_atomic_leaves_the_unit_usable(db: Database) -> None:
    """The get-or-create pattern: a unique violation undoes the savepoint, nothing more."""
    with db.session():
        User.objects.create(username="ann")
        with pytest.raises(sa.exc.IntegrityError), atomic():
            User.objects.create(username="ann")
        Tag.objects.create(name="still-fine")
    assert usernames(db) == {"ann"}
    with db.session() as session:
        assert list(session.scalars(sa.select(Tag.name))) == ["still-fine"]


def test_nested_atomic_and_one_instance_entered_twice(db: Database) -> None:
    block = atomic()
    with db.session():
        with block:
            User.objects.create(username="outer")
            with pytest.raises(RuntimeError):
                _create_in_atomic("inner", fail=True, block=block)
        User.objects.create(username="last")
    assert usernames(db) == {"outer", "last"}


def test_atomic_as_decorator_bare_and_called(db: Database) -> None:
    @atomic
    def bare(name: str, fail: bool) -> None:
        User.objects.create(username=name)
        if fail:
            raise ValueError(name)

    @atomic()
    async def called(name: str, fail: bool) -> None:
        await User.objects.acreate(username=name)
        if fail:
            raise ValueError(name)

    async def run_async() -> None:
        async with db.async_session():
            await called("async-kept", False)
            with pytest.raises(ValueError, match="async-undone"):
                await called("async-undone", True)

    with db.session():
        bare("kept", False)
        with pytest.raises(ValueError, match="undone"):
            bare("undone", True)
    arun(db, run_async)
    assert bare.__name__ == "bare"
    assert called.__name__ == "called"
    assert usernames(db) == {"kept", "async-kept"}


@pytest.mark.parametrize("kind", KINDS)
def test_atomic_in_a_request_is_still_part_of_its_unit(app: App, db: Database, kind: str) -> None:
    """A committed savepoint is not a commit: the handler failing later undoes it too."""
    if kind == "def":

        @app.post("/users/<name>")
        def create(name: str) -> None:
            with atomic():
                User.objects.create(username=name)
            raise HTTPException(400, "changed my mind")

    else:

        @app.post("/users/<name>")
        async def acreate(name: str) -> None:
            async with atomic():
                await User.objects.acreate(username=name)
            raise HTTPException(400, "changed my mind")

    with TestClient(app) as client:
        assert client.post("/users/ann").status_code == 400
    assert usernames(db) == set()


def test_atomic_outside_a_unit_of_work_says_what_to_do() -> None:
    with pytest.raises(NoUnitOfWork, match=r"with db\.session\(\):"), atomic():
        pass
