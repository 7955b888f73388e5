"""`kettle run` logs in JSON in production: Kettle's access line, request ids, no server line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from servers import _popen, _read, _stop, _wait_for_port, free_port

LOGGING_APP = """\
import logging
from kettle import App
from kettle.health import Health
from kettle.logs import RequestLogs

app = App()
Health(app)
RequestLogs(app)
log = logging.getLogger("shop")

@app.get("/orders/<int:id>")
def order(id: int):
    log.info("showing order %d", id)
    return {"id": id}
"""


@pytest.mark.server
@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_production_logs_are_json_lines_with_request_ids(tmp_path: Path, server: str) -> None:
    (tmp_path / "logapp.py").write_text(LOGGING_APP)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    env |= {
        "KETTLE_SECRET_KEY": "logs-test-secret-key-0123456789abcdef",
        "KETTLE_ALLOWED_HOSTS": "127.0.0.1",
    }
    command = [sys.executable, "-m", "kettle.cli", "run", "logapp.py", "--production"]
    command += ["--port", str(port), "--server", server]
    with tempfile.TemporaryFile() as output:
        process = _popen(command, tmp_path, env, output)
        try:
            _wait_for_port(port, process, output, 20, " ".join(command))
            url = f"http://127.0.0.1:{port}"
            response = httpx.get(f"{url}/orders/5", headers={"x-request-id": "run-5"})
            assert httpx.get(f"{url}/healthz").status_code == 200
        finally:
            _stop(process)
        text = _read(output)
    assert response.headers["x-request-id"] == "run-5"
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert records, text
    by_logger = {r["logger"]: r for r in records}
    assert by_logger["shop"]["request_id"] == "run-5"
    access = [r for r in records if r["logger"] == "kettle.access"]
    assert [(a["path"], a["route"], a["status"]) for a in access] == [
        ("/orders/5", "/orders/<int:id>", 200)
    ]
    assert access[0]["request_id"] == "run-5"
    # Each request is logged once: no line from the server's own access log.
    assert "granian.access" not in by_logger
    assert "uvicorn.access" not in by_logger
    assert "GET /orders/5 HTTP" not in text


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "logapp.py").write_text(LOGGING_APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    env["KETTLE_LOG_FORMAT"] = "xml"
    result = subprocess.run(
        [sys.executable, "-m", "kettle.cli", "run", "logapp.py", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "KETTLE_LOG_FORMAT='xml' is not a log format; set it to json or text." in result.stderr
    assert "Traceback" not in result.stderr
