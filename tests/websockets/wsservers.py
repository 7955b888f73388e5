"""Serve ``wsapp`` with a real server and keep its output, for the WebSocket tests."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import IO

from servers import (
    REPO_ROOT,
    Server,
    _popen,
    _read,
    _server_env,
    _stop,
    _wait_for_port,
    free_port,
    server_command,
)

HERE = Path(__file__).resolve().parent


@dataclass
class Served:
    """A running server: its ws:// and http:// URLs, its process and its output so far."""

    server: Server
    url: str
    ws_url: str
    process: Popen[bytes]
    _output: IO[bytes]

    def output(self) -> str:
        """What the server printed so far."""
        return _read(self._output)

    def terminate(self, group: bool = True) -> None:
        """SIGTERM the server's process group, as a process manager stopping it does
        (systemd), or with ``group=False`` its main process only (``docker stop``)."""
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                self.process.send_signal(signal.SIGTERM)


@contextlib.contextmanager
def serving(
    server: Server, env: Mapping[str, str] | None = None, *, kettle_run: Sequence[str] = ()
) -> Iterator[Served]:
    """Serve ``wsapp:app`` with ``server``; the process group is stopped on exit. With
    ``kettle_run`` (its options, ``("--grace", "5")`` say), through ``kettle run``."""
    port = free_port()
    command = server_command("wsapp:app", server, port)
    if kettle_run:
        command = [sys.executable, "-m", "kettle.cli", "run", "wsapp:app", "--production"]
        command += ["--port", str(port), "--server", server, *kettle_run]
    with tempfile.TemporaryFile() as output:
        cwd = HERE if kettle_run else REPO_ROOT
        process = _popen(command, cwd, _server_env(env or {}, (HERE,)), output)
        try:
            _wait_for_port(port, process, output, 15.0, " ".join(command))
            url = f"127.0.0.1:{port}"
            yield Served(server, f"http://{url}", f"ws://{url}", process, output)
        finally:
            _stop(process)
