"""`kettle run` on SIGTERM under load: requests in flight finish, new connections are
refused, idle keep-alive connections are closed, and the process exits within --grace."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from servers import _popen, _read, _stop, _wait_for_port, free_port, read_response, request_bytes

SLOW_APP = """\
import asyncio
import os
import time
from pathlib import Path
from kettle import App

app = App()
handled = []

@app.get("/slow")
async def slow(s: float = 0.5):
    await asyncio.sleep(s)
    handled.append(s)
    return {"slept": s}

@app.get("/sync")
def sync(s: float = 0.5):
    time.sleep(s)
    handled.append(s)
    return {"slept": s}

@app.on_shutdown
def goodbye():
    Path("stopped.txt").write_text("shut-down hooks ran")
    Path(f"handled-{os.getpid()}.txt").write_text(str(len(handled)))
"""


@contextmanager
def kettle_run(
    folder: Path, server: str, *args: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`kettle run slowapp.py --production` in ``folder``; yields the process and its URL,
    and on exit the process's output is in ``folder/output.txt``."""
    (folder / "slowapp.py").write_text(SLOW_APP)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    env |= {
        "KETTLE_SECRET_KEY": "shutdown-test-secret-0123456789abcdef",
        "KETTLE_ALLOWED_HOSTS": "127.0.0.1",
    }
    command = [sys.executable, "-m", "kettle.cli", "run", "slowapp.py", "--production"]
    command += ["--port", str(port), "--server", server, *args]
    with tempfile.TemporaryFile() as output:
        process = _popen(command, folder, env, output)
        try:
            _wait_for_port(port, process, output, 20, " ".join(command))
            yield process, f"http://127.0.0.1:{port}"
        finally:
            _stop(process)
            (folder / "output.txt").write_text(_read(output))


def idle_keep_alive(url: str) -> socket.socket:
    """A connection that has had one answered request and now sits idle."""
    host, _, port = url.removeprefix("http://").partition(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    request = request_bytes("GET", "/slow?s=0").replace(
        b"Connection: close", b"Connection: keep-alive"
    )
    sock.sendall(request)
    assert read_response(sock).status == 200
    return sock


async def wait_for_exit(process: subprocess.Popen[bytes], limit: float) -> float:
    """Seconds until ``process`` exits (``limit`` at most), without blocking the load."""
    started = time.monotonic()
    with contextlib.suppress(subprocess.TimeoutExpired):
        await asyncio.to_thread(process.wait, limit)
    return time.monotonic() - started


@pytest.mark.server
@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_sigterm_under_load_finishes_requests_in_flight_and_refuses_new_ones(
    tmp_path: Path, server: str
) -> None:
    outcomes: Counter[str] = Counter()
    after_sigterm: Counter[str] = Counter()
    with kettle_run(tmp_path, server, "--grace", "10") as (process, url):
        idle = idle_keep_alive(url)

        async def load() -> tuple[float, str, float]:
            signalled = 0.0

            async with httpx.AsyncClient(
                timeout=15, limits=httpx.Limits(max_connections=64)
            ) as client:

                async def one(path: str) -> None:
                    started = time.monotonic()
                    try:
                        response = await client.get(url + path)
                        outcome = str(response.status_code)
                    except httpx.ConnectError:
                        outcome = "refused"  # a new connection after SIGTERM: expected
                    except httpx.HTTPError as error:
                        outcome = f"{type(error).__name__}: {error}"
                    outcomes[outcome] += 1
                    if signalled and started < signalled:
                        after_sigterm[outcome] += 1

                async def loop(path: str) -> None:
                    while process.poll() is None and not outcomes["refused"]:
                        await one(path)

                workers = [
                    asyncio.create_task(loop(f"/{kind}?s=0.3")) for kind in ("slow", "sync") * 8
                ]
                # Long requests: certainly in flight when SIGTERM comes.
                long = [asyncio.create_task(one(f"/{kind}?s=2")) for kind in ("slow", "sync") * 4]
                await asyncio.sleep(1.2)
                signalled = time.monotonic()
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
                try:
                    socket.create_connection(
                        ("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=2
                    ).close()
                    refused = "accepted"
                except ConnectionRefusedError:
                    refused = "refused"
                idle.settimeout(5)
                try:
                    closed_after = time.monotonic() - signalled if idle.recv(1) == b"" else -1.0
                except ConnectionResetError:
                    closed_after = -2.0
                await asyncio.gather(*long, *workers)
                return await wait_for_exit(process, 15) + 0.5, refused, closed_after

        exit_after, new_connection, idle_closed_after = asyncio.run(load())
        idle.close()
        code = process.returncode
    output = (tmp_path / "output.txt").read_text()
    # Every request the server took was answered; the rest were refused at connect, or
    # (sent on a kept-alive connection as the server closed it) never read.
    unread = "RemoteProtocolError: Server disconnected without sending a response."
    assert set(outcomes) <= {"200", "refused", unread}, (outcomes, output)
    handled = sum(int(f.read_text()) for f in tmp_path.glob("handled-*.txt"))
    assert handled == outcomes["200"] + 1, (handled, outcomes, output)  # + the idle one's
    assert not after_sigterm[unread], (after_sigterm, output)  # in flight: all answered
    assert after_sigterm["200"] >= 8, after_sigterm  # the long ones at least, finished after
    assert new_connection == "refused"
    assert 0 <= idle_closed_after < 2.0, idle_closed_after  # closed cleanly, not reset
    assert exit_after < 5, output
    assert code in (0, -signal.SIGTERM), output  # uvicorn re-raises the signal to exit
    assert (tmp_path / "stopped.txt").read_text() == "shut-down hooks ran"


@pytest.mark.server
@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_request_longer_than_the_grace_period_does_not_hold_up_the_exit(
    tmp_path: Path, server: str
) -> None:
    with kettle_run(tmp_path, server, "--grace", "2") as (process, url):

        async def stuck() -> float:
            async with httpx.AsyncClient(timeout=30) as client:
                request = asyncio.create_task(client.get(f"{url}/slow?s=60"))
                await asyncio.sleep(0.5)
                process.send_signal(signal.SIGTERM)
                took = await wait_for_exit(process, 20)
                request.cancel()
                return took

        took = asyncio.run(stuck())
    assert process.returncode is not None
    assert took < 2 + 3, (tmp_path / "output.txt").read_text()


def test_the_grace_period_comes_from_the_environment(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kettle.cli import main

    result = CliRunner().invoke(main, ["run", "--help"])
    assert "--grace" in result.output
    assert "KETTLE_SHUTDOWN_GRACE" in result.output
    for bad in ("0", "-5", "ten", "1.5", "", "99999999999999999999"):
        result = CliRunner().invoke(
            main, ["run", "nothere.py"], env={"KETTLE_SHUTDOWN_GRACE": bad}, catch_exceptions=False
        )
        if bad == "":  # an empty variable is no value: the default, then the missing file
            assert "Invalid value for '--grace'" not in result.output, result.output
            continue
        assert result.exit_code == 2, (bad, result.output)
        assert "Invalid value for '--grace'" in result.output, (bad, result.output)
        result = CliRunner().invoke(main, ["run", "nothere.py", "--grace", bad])
        assert result.exit_code == 2, (bad, result.output)
        assert "Invalid value for '--grace'" in result.output, (bad, result.output)
