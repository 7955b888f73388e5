"""Real servers for tests: start Granian or uvicorn in a subprocess, talk to them raw.

Server start-up takes about a second, so start each configuration once per module::

    from servers import SERVERS, running_server

    @pytest.fixture(scope="module", params=SERVERS)
    def base_url(request):
        with running_server("security_app:app", server=request.param, env={}) as url:
            yield url

``tests/`` is on ``sys.path`` through its ``conftest.py``, so ``import servers`` works from
every test module. ``raw_request`` sends bytes no HTTP client would (bad Host headers,
``..`` in paths, unfinished chunked bodies) and parses the answer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal


def server_missing(engine: str, where: str, error: Exception, tests: str) -> None:
    """A database server the tests need did not answer: under CI (``CI=true``) that fails
    the run; elsewhere ``tests`` skip, with a warning that says so::

        except Exception as error:
            server_missing("postgresql", url, error, "every admin test on postgresql")
    """
    if os.environ.get("CI") == "true":
        raise RuntimeError(
            f"CI needs a {engine} server at {where} and could not use it: {error}. "
            "Start it (see the README's Development section)."
        ) from error
    warnings.warn(f"SKIPPING {tests}: no server at {where} ({error}).", stacklevel=2)


Server = Literal["granian", "uvicorn"]
SERVERS: tuple[Server, ...] = ("granian", "uvicorn")
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Apps the servers run live here; it is put on the server's PYTHONPATH.
APPS_DIR = Path(__file__).resolve().parent / "apps"
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
#: What every server gets before the test's own variables.
BASE_ENV = {
    "KETTLE_ENV": "production",
    "KETTLE_SECRET_KEY": SECRET_KEY,
    "KETTLE_ALLOWED_HOSTS": "127.0.0.1,localhost",
}
START_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(target: str, server: Server, port: int) -> list[str]:
    """The command line that serves ``target`` (``module:attribute``) on 127.0.0.1:port."""
    if server == "granian":
        return [
            sys.executable,
            *("-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", "1", target),
        ]
    if server == "uvicorn":
        return [
            sys.executable,
            *("-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)),
        ]
    raise ValueError(f"Unknown server {server!r}; use one of {SERVERS}.")


@contextlib.contextmanager
def running_server(
    target: str,
    *,
    server: Server,
    env: Mapping[str, str],
    cwd: Path = REPO_ROOT,
    pythonpath: Sequence[Path] = (APPS_DIR,),
    timeout: float = START_TIMEOUT,
) -> Iterator[str]:
    """Serve ``target`` with ``server`` in a subprocess; yields ``http://127.0.0.1:<port>``.

    The environment is the current one without its ``KETTLE_*`` variables, plus
    ``BASE_ENV``, plus ``env``. If the port does not
    open within ``timeout`` seconds (or the server exits), the test fails with the server's
    output. The whole process group is stopped on exit.
    """
    port = free_port()
    command = server_command(target, server, port)
    full_env = _server_env(env, pythonpath)
    with running_process(command, port, cwd=cwd, env=full_env, timeout=timeout) as url:
        yield url


@contextlib.contextmanager
def running_process(
    command: Sequence[str],
    port: int,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = START_TIMEOUT,
) -> Iterator[str]:
    """Run ``command`` (which must listen on ``port``) with exactly ``env``; yields its URL.

    For commands other than a bare server, such as ``kettle run``::

        with running_process(["kettle", "run", "hello.py", "--port", "8123"], 8123,
                             cwd=project, env=os.environ) as url:
            ...
    """
    with tempfile.TemporaryFile() as output:
        process = _popen(command, cwd, env, output)
        try:
            _wait_for_port(port, process, output, timeout, " ".join(command))
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(process)


def refused_start(
    target: str,
    *,
    server: Server,
    env: Mapping[str, str],
    cwd: Path = REPO_ROOT,
    pythonpath: Sequence[Path] = (APPS_DIR,),
    timeout: float = START_TIMEOUT,
) -> tuple[int, str]:
    """Start a server that must refuse to run; returns its exit code and output.

    Fails if the server is still running after ``timeout`` seconds::

        code, output = refused_start("app:app", server="granian", env={"KETTLE_SECRET_KEY": ""})
        assert code != 0 and "SECRET_KEY is missing" in output
    """
    with tempfile.TemporaryFile() as output:
        command = server_command(target, server, free_port())
        process = _popen(command, cwd, _server_env(env, pythonpath), output)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise AssertionError(
                f"{server} serving {target} was expected to refuse to start, but it was "
                f"still running after {timeout:.0f} s. Its output:\n{_read(output)}"
            ) from None
        return code, _read(output)


def _server_env(env: Mapping[str, str], pythonpath: Sequence[Path]) -> dict[str, str]:
    # KETTLE_* variables of the shell running the tests would change what is tested.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    full_env = {**inherited, **BASE_ENV, **env}
    paths = [str(p) for p in pythonpath]
    if full_env.get("PYTHONPATH"):
        paths.append(full_env["PYTHONPATH"])
    full_env["PYTHONPATH"] = os.pathsep.join(paths)
    return full_env


def _popen(
    command: Sequence[str], cwd: Path, env: Mapping[str, str], output: IO[bytes]
) -> subprocess.Popen[bytes]:
    # NOTE: output goes to a file, not a pipe: nobody reads a pipe while tests run, and a
    # full pipe would block the server on its next log line.
    return subprocess.Popen(
        list(command),
        cwd=cwd,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _read(output: IO[bytes]) -> str:
    output.seek(0)
    return output.read().decode("utf-8", "replace")


def _wait_for_port(
    port: int, process: subprocess.Popen[bytes], output: IO[bytes], timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"{what} exited with code {process.returncode} before listening on port "
                f"{port}. Its output:\n{_read(output)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(
        f"{what} did not listen on port {port} within {timeout:.0f} s. Its output:\n{_read(output)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


# --- raw HTTP/1.1 -----------------------------------------------------------------------
@dataclass
class RawResponse:
    """A response read off a socket; header names are lower-case."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def address(base_url: str) -> tuple[str, int]:
    """``("127.0.0.1", port)`` from ``http://127.0.0.1:port``."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    return host, int(port)


def raw_request(
    base_url: str, *parts: bytes, pause: float = 0.0, timeout: float = 10.0
) -> RawResponse:
    """Send ``parts`` as they are over a new connection and read one response.

    With ``pause``, wait that long between parts (to let the server act on a partial
    request). A server that answers before reading all parts may close the connection;
    sending then stops, and the response is still read.
    """
    with socket.create_connection(address(base_url), timeout=timeout) as sock:
        for i, part in enumerate(parts):
            if i and pause:
                time.sleep(pause)
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
        return read_response(sock)


def read_response(sock: socket.socket) -> RawResponse:
    """Read one HTTP/1.1 response (Content-Length, chunked, or up to the close)."""
    reader = sock.makefile("rb")
    status_line = reader.readline()
    if not status_line:
        raise AssertionError("The server closed the connection without answering.")
    _, status, _ = status_line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = reader.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int(reader.readline().split(b";")[0], 16):
            chunks.append(reader.read(size))
            reader.readline()
        body = b"".join(chunks)
    else:
        body = reader.read()
    return RawResponse(int(status), headers, body)


def request_bytes(
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    host: str | None = "127.0.0.1",
) -> bytes:
    """An HTTP/1.1 request as bytes, exactly as given (``host=None`` sends no Host)."""
    lines = [f"{method} {target} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunk(data: bytes) -> bytes:
    """``data`` framed as one chunk of a chunked body (``chunk(b"")`` ends the body)."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"
