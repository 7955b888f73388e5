"""The unit of work of a request costs nothing when the request does not use the database."""

from __future__ import annotations

from typing import Any

import pytest
from newsmodels import User
from sqlalchemy import event

from kettle import App
from kettle.db import Database, sync_session
from kettle.db.session import current_unit
from kettle.requests import Request
from kettle.testing import TestClient


def count_checkouts(db: Database) -> list[str]:
    """A list that grows on every connection checkout of either engine."""
    checkouts: list[str] = []
    for name, engine in (("sync", db.sync_engine), ("async", db.async_engine.sync_engine)):
        event.listen(engine, "checkout", lambda *_, name=name: checkouts.append(name))
    return checkouts


def count_sessions(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []
    for kind in ("sync", "async"):
        make = getattr(db, f"make_{kind}_session")

        def counted(make: Any = make, kind: str = kind) -> Any:
            made.append(kind)
            return make()

        monkeypatch.setattr(db, f"make_{kind}_session", counted)
    return made


@pytest.mark.parametrize("kind", ["def", "async"])
def test_a_route_that_does_not_use_the_database_opens_nothing(
    app: App, db: Database, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkouts = count_checkouts(db)
    sessions = count_sessions(db, monkeypatch)
    if kind == "def":

        @app.get("/hello")
        def hello() -> dict[str, bool]:
            return {"unit": current_unit().database is db}

    else:

        @app.get("/hello")
        async def ahello() -> dict[str, bool]:
            return {"unit": current_unit().database is db}

    with TestClient(app) as client:
        for _ in range(3):
            assert client.get("/hello").json() == {"unit": True}
    assert checkouts == []
    assert sessions == []


def test_a_route_that_uses_the_database_opens_one_session_on_first_use(
    app: App, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = count_sessions(db, monkeypatch)

    @app.before_request
    def note(request: Request) -> None:
        request.state.opened_before = current_unit().sync is not None

    @app.post("/users/<name>")
    def create(request: Request, name: str) -> dict[str, Any]:
        User.objects.create(username=name)
        User.objects.create(username=name + "-2")
        return {"before": request.state.opened_before, "same": sync_session() is sync_session()}

    with TestClient(app) as client:
        assert client.post("/users/ann").json() == {"before": False, "same": True}
    assert sessions == ["sync"]
    with db.session():
        assert User.objects.count() == 2
