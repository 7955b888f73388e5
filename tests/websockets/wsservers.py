"""Serve ``wsapp`` with a real server and keep its output, for the WebSocket tests."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator, Mapping
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

    def terminate(self) -> None:
        """SIGTERM the server's process group, as a process manager stopping it does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)


@contextlib.contextmanager
def serving(server: Server, env: Mapping[str, str] | None = None) -> Iterator[Served]:
    """Serve ``wsapp:app`` with ``server``; the process group is stopped on exit."""
    port = free_port()
    command = server_command("wsapp:app", server, port)
    with tempfile.TemporaryFile() as output:
        process = _popen(command, REPO_ROOT, _server_env(env or {}, (HERE,)), output)
        try:
            _wait_for_port(port, process, output, 15.0, " ".join(command))
            url = f"127.0.0.1:{port}"
            yield Served(server, f"http://{url}", f"ws://{url}", process, output)
        finally:
            _stop(process)
