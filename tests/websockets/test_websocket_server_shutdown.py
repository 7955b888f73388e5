"""SIGTERM to a real server with WebSockets open: every client gets a close frame with
1001 (going away) and Kettle's reason, and the server then stops as usual, within the
grace period. On Granian and uvicorn, started bare and by ``kettle run``."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from websockets.sync.client import ClientConnection, connect
from wsservers import Served, serving

from servers import SERVERS, Server

pytestmark = pytest.mark.server

REASON = "The server is shutting down."
#: Clients per test: some in an echo handler waiting for a message, some in a room.
CLIENTS = 4
#: `kettle run --grace` in these tests: the server must be gone well before it.
GRACE = 8


def open_clients(served: Served, stack: contextlib.ExitStack) -> list[ClientConnection]:
    """Open sockets in two kinds of handler, each waiting for the client's next message."""
    clients = []
    for i in range(CLIENTS):
        if i % 2:
            ws = stack.enter_context(connect(served.ws_url + "/rooms/tea", ping_interval=None))
            assert ws.recv(timeout=5) == "joined"
        else:
            ws = stack.enter_context(connect(served.ws_url + "/echo", ping_interval=None))
            ws.send("hi")
            assert ws.recv(timeout=5) == "hi"
        clients.append(ws)
    return clients


def stop_and_watch(
    served: Served, clients: list[ClientConnection], group: bool
) -> list[Close | None]:
    """SIGTERM the server; the close frame each client received (None: the connection
    dropped with none); fails if a socket stays open or the server outlives GRACE."""
    seen: dict[int, Close | None] = {}

    def read(i: int, ws: ClientConnection) -> None:
        try:
            while True:
                ws.recv(timeout=GRACE)
        except ConnectionClosed as closed:
            seen[i] = closed.rcvd
        except TimeoutError:
            pass  # left out of seen: still open

    readers = [threading.Thread(target=read, args=pair) for pair in enumerate(clients)]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    served.terminate(group=group)
    for reader in readers:
        reader.join(GRACE + 2)
    served.process.wait(GRACE)
    took = time.monotonic() - started
    assert len(seen) == len(clients), f"{len(clients) - len(seen)} sockets stayed open"
    assert took < GRACE, f"the server took {took:.1f} s to stop"
    return [seen[i] for i in range(len(clients))]


@pytest.mark.parametrize("server", SERVERS)
def test_sigterm_closes_open_sockets_with_1001(server: Server) -> None:
    with serving(server) as served, contextlib.ExitStack() as stack:
        closes = stop_and_watch(served, open_clients(served, stack), group=True)
        assert [(c.code, c.reason) if c else None for c in closes] == [(1001, REASON)] * CLIENTS
        assert "Traceback" not in served.output(), served.output()


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("group", [True, False], ids=["process-group", "main-process"])
def test_kettle_run_closes_open_sockets_with_1001(server: Server, group: bool) -> None:
    # The process group is what systemd signals; `docker stop` signals the main process
    # only, and Granian's passes it on to its workers.
    options = ("--grace", str(GRACE))
    with serving(server, kettle_run=options) as served, contextlib.ExitStack() as stack:
        closes = stop_and_watch(served, open_clients(served, stack), group=group)
        assert [(c.code, c.reason) if c else None for c in closes] == [(1001, REASON)] * CLIENTS
        # -15: uvicorn raises the SIGTERM it caught again once it has shut down.
        assert served.process.returncode in (0, -15), served.output()
        assert "Traceback" not in served.output(), served.output()
