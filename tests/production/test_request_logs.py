"""Request ids and access logs: taken or made, echoed, stamped on every record of a request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kettle import App, Request, Settings
from kettle.health import Health
from kettle.logs import JSONFormatter, RequestIdFilter, RequestLogs
from kettle.tasks import Tasks, task
from kettle.testing import TestClient

shop = logging.getLogger("shop")


@task
def charge(order: int) -> None:
    shop.info("charging order %d", order)


class Lines(logging.Handler):
    """The JSON lines a production log would hold."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JSONFormatter())
        self.addFilter(RequestIdFilter())
        self.records: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(json.loads(self.format(record)))

    def of(self, logger: str) -> list[dict[str, object]]:
        return [r for r in self.records if r["logger"] == logger]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    before = root.level
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(before)


@pytest.fixture
def app(tmp_path: Path) -> App:
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    Health(app)
    RequestLogs(app)

    @app.get("/orders/<int:id>")
    def order(id: int, request: Request) -> dict[str, object]:
        shop.info("showing order %d", id)
        return {"id": id, "request_id": request.id}

    @app.post("/orders/<int:id>/pay")
    async def pay(id: int) -> str:
        shop.info("paying order %d", id)
        charge.enqueue(id)
        return "paid"

    @app.get("/broken")
    def broken() -> str:
        raise RuntimeError("the ledger is on fire")

    return app


def test_request_id_is_made_or_taken_and_echoed(app: App) -> None:
    with TestClient(app) as client:
        made = client.get("/orders/7")
        rid = made.headers["x-request-id"]
        assert len(rid) == 32
        assert int(rid, 16) >= 0
        assert made.json()["request_id"] == rid
        taken = client.get("/orders/7", headers={"x-request-id": "edge-1234.abc"})
        assert taken.headers["x-request-id"] == "edge-1234.abc"
        assert taken.json()["request_id"] == "edge-1234.abc"
        # Too long or unsafe: replaced, never copied into logs or responses.
        for bad in ("x" * 129, "a b", "<script>", "id\x7f"):
            response = client.get("/orders/7", headers={"x-request-id": bad})
            assert response.headers["x-request-id"] != bad
            assert len(response.headers["x-request-id"]) == 32


def test_access_log_and_handler_logs_carry_the_request_id(app: App, lines: Lines) -> None:
    with TestClient(app) as client:
        response = client.get("/orders/42", headers={"x-request-id": "req-42"})
        client.get("/healthz")
        client.get("/readyz")
        client.get("/nowhere")
    assert response.status_code == 200
    [handler_line] = lines.of("shop")
    assert handler_line["message"] == "showing order 42"
    assert handler_line["request_id"] == "req-42"
    access = lines.of("kettle.access")
    assert [a["path"] for a in access] == ["/orders/42", "/nowhere"]  # probes are quiet
    first, missing = access
    assert first["method"] == "GET"
    assert first["route"] == "/orders/<int:id>"
    assert first["status"] == 200
    assert first["request_id"] == "req-42"
    assert isinstance(first["duration_ms"], float)
    assert first["client"]
    assert (missing["status"], missing["route"]) == (404, None)


def test_errors_are_logged_with_traceback_and_request_id(app: App, lines: Lines) -> None:
    with TestClient(app) as client:
        response = client.get("/broken", headers={"x-request-id": "req-boom"})
    assert response.status_code == 500
    [error] = [r for r in lines.records if r["level"] == "ERROR"]
    assert error["request_id"] == "req-boom"
    assert "RuntimeError: the ledger is on fire" in str(error["exc_info"])
    [access] = lines.of("kettle.access")
    assert (access["status"], access["request_id"]) == (500, "req-boom")


def test_tasks_enqueued_by_a_request_log_its_id(app: App, lines: Lines) -> None:
    tasks = Tasks(app, mode="collect")
    with TestClient(app) as client:
        response = client.post("/orders/9/pay", headers={"x-request-id": "req-pay"})
    assert response.status_code == 200, response.text
    [message] = tasks.collected
    assert message.request_id == "req-pay"
    assert [o.state for o in tasks.run_collected()] == ["done"]
    charged = [r for r in lines.of("shop") if r["message"] == "charging order 9"]
    assert [r["request_id"] for r in charged] == ["req-pay"]


def test_the_database_backend_keeps_the_request_id(tmp_path: Path, db_url: str) -> None:
    from kettle.db import Database
    from kettle.tasks._rows import claim

    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    RequestLogs(app)
    db = Database(app, url=db_url)
    tasks = Tasks(app)

    @app.post("/pay/<int:id>")
    def pay(id: int) -> str:
        charge.enqueue(id)
        return "queued"

    db.drop_all()
    db.create_all()
    try:
        with TestClient(app) as client:
            response = client.post("/pay/3", headers={"x-request-id": "req-db-3"})
        assert response.status_code == 200, response.text
        assert tasks.backend.name == "database"
        with db.sync_engine.begin() as connection:
            [message] = claim(connection, ["default"], 10, worker="test", lease=30)
        assert (message.args, message.request_id) == ([3], "req-db-3")
    finally:
        db.drop_all()
        db.dispose()
