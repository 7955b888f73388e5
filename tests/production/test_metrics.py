"""Prometheus metrics: by route template, behind a token, summed over worker processes."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kettle import App, Settings
from kettle.db import Database
from kettle.exceptions import ConfigurationError
from kettle.metrics import Metrics
from kettle.testing import TestClient
from servers import free_port, running_process

AUTH = {"authorization": "Bearer scrape-me"}


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """``name``'s samples in a scrape, by their sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _app(tmp_path: Path) -> App:
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)

    @app.get("/articles/<int:id>")
    def article(id: int) -> dict[str, int]:
        return {"id": id}

    return app


def test_requests_are_counted_by_route_template(tmp_path: Path) -> None:
    app = _app(tmp_path)
    Metrics(app, token="scrape-me")
    with TestClient(app) as client:
        for id in (1, 2, 3):
            assert client.get(f"/articles/{id}").status_code == 200
        assert client.get("/nothing/here").status_code == 404
        assert client.get("/elsewhere").status_code == 404
        scrape = client.get("/metrics", headers=AUTH)
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    counts = samples(scrape.text, "kettle_requests_total")
    assert counts == {
        (("method", "GET"), ("route", "/articles/<int:id>"), ("status", "200")): 3.0,
        (("method", "GET"), ("route", "<unmatched>"), ("status", "404")): 2.0,
    }
    # Raw paths never become labels.
    assert "/articles/1" not in scrape.text
    latency = samples(scrape.text, "kettle_request_duration_seconds_count")
    assert latency[(("method", "GET"), ("route", "/articles/<int:id>"))] == 3.0


def test_the_token_is_required(tmp_path: Path) -> None:
    app = _app(tmp_path)
    Metrics(app, token="scrape-me")
    with TestClient(app) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"authorization": "Bearer nope"})
        right = client.get("/metrics", headers={"authorization": "bearer scrape-me"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "kettle_requests" not in missing.text
    assert wrong.status_code == 401
    assert right.status_code == 200


def test_production_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    settings = Settings.load(
        env="production", env_file=None, secret_key="x" * 40, allowed_hosts=["testserver"]
    )
    app = App(settings=settings, root=tmp_path)
    Metrics(app)
    with pytest.raises(ConfigurationError, match="KETTLE_METRICS_TOKEN"), TestClient(app):
        pass


def test_database_queries_and_pool_use_are_counted(tmp_path: Path, db_url: str) -> None:
    app = _app(tmp_path)
    Metrics(app, public=True)
    db = Database(app, url=db_url)

    @app.get("/sum")
    async def total() -> dict[str, int]:
        async with db.async_engine.connect() as connection:
            for _ in range(3):
                await connection.exec_driver_sql("SELECT 1")
        return {"ok": 1}

    try:
        with TestClient(app) as client:
            before = samples(client.get("/metrics").text, "kettle_db_queries_total")[()]
            assert client.get("/sum").status_code == 200
            scrape = client.get("/metrics").text
    finally:
        db.dispose()
    assert samples(scrape, "kettle_db_queries_total")[()] - before >= 3
    assert samples(scrape, "kettle_db_connections_in_use") == {(): 0.0}


PID_APP = """\
import os
from kettle import App
from kettle.metrics import Metrics

app = App()
Metrics(app)

@app.get("/pid/<int:n>")
def pid(n: int):
    return {"pid": os.getpid(), "dir": os.environ["PROMETHEUS_MULTIPROC_DIR"]}
"""


@pytest.mark.server
def test_two_workers_add_up(tmp_path: Path) -> None:
    (tmp_path / "pidapp.py").write_text(textwrap.dedent(PID_APP))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KETTLE_", "PROMETHEUS_"))}
    env |= {
        "KETTLE_SECRET_KEY": "metrics-test-secret-key-0123456789",
        "KETTLE_ALLOWED_HOSTS": "127.0.0.1",
        "KETTLE_METRICS_TOKEN": "scrape-me",
    }
    command = [sys.executable, "-m", "kettle.cli", "run", "pidapp.py", "--port", str(port)]
    command += ["--workers", "2"]
    pids: set[int] = set()
    sent = 0
    with running_process(command, port, cwd=tmp_path, env=env, timeout=30) as url:
        # A new connection each time, until both workers have answered.
        while len(pids) < 2 and sent < 200:
            body = httpx.get(f"{url}/pid/{sent}").json()
            pids.add(body["pid"])
            folder = Path(body["dir"])
            sent += 1
        assert len(pids) == 2, "one worker answered every request"
        assert folder.is_dir()
        scrapes = [httpx.get(f"{url}/metrics", headers=AUTH).text for _ in range(4)]
    for scrape in scrapes:
        counts = samples(scrape, "kettle_requests_total")
        key = (("method", "GET"), ("route", "/pid/<int:n>"), ("status", "200"))
        assert counts[key] == sent  # every worker's requests, whoever answers
    assert not folder.exists(), "the run's multi-process directory was left behind"
