"""WebSockets (issue #19): what Kettle's layer costs next to Starlette and a bare ASGI app.

Run from the repository root (it uses bench/.venv, made by run.py, for the servers)::

    python3 bench/websockets_bench.py            # 5 s per measure, 1,000 fan-out sockets
    python3 bench/websockets_bench.py --smoke    # 1 s, 50 sockets: checks every app answers

(Not ``websockets.py``: that name would shadow the ``websockets`` library for anything
run from bench/.) Each app is served by Granian (one worker, one runtime thread, the
asyncio loop), the three side by side, and measured by a small asyncio client in this
process, with no client library in the way:

- **echo**: 8 connections each send a 32-byte text message and wait for it to come back,
  for ``--seconds`` in all, in 5 turns the apps take in rotation (a busy machine's load
  then falls on all three alike); messages per second (round trips), and the server's CPU
  time per message (user + system, from /proc, on Linux).
- **fan-out**: ``--sockets`` connections listen on one channel; one of them asks for 32
  messages, which the app sends to every socket; deliveries per second, over as many
  rounds as fit in ``--seconds``. Kettle publishes with ``kettle.broadcast`` (memory://):
  each socket's message is queued and sent by its own writer task. Starlette and the
  bare app loop over their sockets and ``await send`` each, as their docs show.

The apps are defined here (``websockets_bench:kettle_app``, ``starlette_app``,
``raw_app``) so the three do the same work. Results go to results/raw/websockets.json.
"""

# NOTE: no ``from __future__ import annotations``: the Kettle handlers below are declared
# inside a function, and their WebSocket annotations must resolve there.
import argparse
import asyncio
import base64
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
HOST = "127.0.0.1"
APPS = ("raw", "starlette", "kettle")
ECHO_CONNECTIONS = 8
ECHO_ROUNDS = 5
BURST = 32
PAYLOAD = "x" * 32


# ---------------------------------------------------------------- the apps (served)


def _kettle_app() -> Any:
    from kettle import App, Settings, WebSocket
    from kettle.broadcast import Broadcast
    from kettle.websockets import WebSocketOptions

    settings = Settings(env="production", secret_key="bench-" * 8, allowed_hosts=["*"])
    app = App(settings=settings, templates=None, static=None)
    app.websocket_options = WebSocketOptions(send_buffer=4 * BURST)
    broadcast = Broadcast(app)

    @app.websocket("/echo")
    async def echo(ws: WebSocket) -> None:
        async for text in ws.iter(str):
            await ws.send_text(text)

    @app.websocket("/fanout")
    async def fanout(ws: WebSocket) -> None:
        async with broadcast.join("all", ws):
            await ws.send_text("joined")
            async for text in ws.iter(str):
                for _ in range(int(text)):
                    await broadcast.publish("all", "m")

    return app


def _starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    sockets: set[WebSocket] = set()

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except WebSocketDisconnect:
            pass

    async def fanout(ws: WebSocket) -> None:
        await ws.accept()
        sockets.add(ws)
        await ws.send_text("joined")
        try:
            while True:
                count = int(await ws.receive_text())
                for _ in range(count):
                    for other in list(sockets):
                        await other.send_text("m")
        except WebSocketDisconnect:
            pass
        finally:
            sockets.discard(ws)

    return Starlette(routes=[WebSocketRoute("/echo", echo), WebSocketRoute("/fanout", fanout)])


async def raw_app(scope: Any, receive: Any, send: Any) -> None:
    """The floor: a bare ASGI callable (``websockets_bench:raw_app``)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            kind = message["type"].rsplit(".", 1)[-1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    fanout = scope["path"] == "/fanout"
    if fanout:
        _RAW_SOCKETS.add(send)
        await send({"type": "websocket.send", "text": "joined"})
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if not fanout:
                await send({"type": "websocket.send", "text": message["text"]})
                continue
            for _ in range(int(message["text"])):
                for other in list(_RAW_SOCKETS):
                    await other({"type": "websocket.send", "text": "m"})
    finally:
        _RAW_SOCKETS.discard(send)


_RAW_SOCKETS: set[Any] = set()


def __getattr__(name: str) -> Any:
    # The apps are built when the server asks for them, so this file imports nothing
    # heavy when it runs as the benchmark.
    if name == "kettle_app":
        return _kettle_app()
    if name == "starlette_app":
        return _starlette_app()
    raise AttributeError(name)


# ---------------------------------------------------------------- a minimal client


class Client:
    """One WebSocket connection: masked text frames out, unmasked frames in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, path: str) -> "Client":
        reader, writer = await asyncio.open_connection(HOST, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise RuntimeError(f"handshake refused: {status!r}")
        return cls(reader, writer)

    def send(self, text: str) -> None:
        data = text.encode()
        assert len(data) < 126
        # A zero mask leaves the payload as it is; servers must accept any mask.
        self.writer.write(bytes((0x81, 0x80 | len(data))) + b"\0\0\0\0" + data)

    async def recv(self) -> str:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        data = await self.reader.readexactly(size)
        if first & 0x0F == 0x8:
            raise ConnectionError(f"closed by the server: {data[:2].hex()} {data[2:]!r}")
        return data.decode()

    def close(self) -> None:
        self.writer.transport.abort()


async def measure_echo(port: int, seconds: float) -> tuple[int, float]:
    """Echo round trips for ``seconds``: how many, and in how many seconds."""
    clients = [await Client.connect(port, "/echo") for _ in range(ECHO_CONNECTIONS)]
    deadline = time.perf_counter() + seconds
    counts = [0] * len(clients)

    async def ping(index: int, client: Client) -> None:
        while time.perf_counter() < deadline:
            client.send(PAYLOAD)
            if await client.recv() != PAYLOAD:
                raise RuntimeError("the echo answered something else")
            counts[index] += 1

    started = time.perf_counter()
    await asyncio.gather(*(ping(i, c) for i, c in enumerate(clients)))
    took = time.perf_counter() - started
    for client in clients:
        client.close()
    return sum(counts), took


def server_cpu(session: int) -> float | None:
    """CPU seconds (user + system) used so far by the processes of ``session`` (the
    server and its workers); None where /proc is not there to tell."""
    ticks = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        # Fields after "(name) ": state ppid pgrp session ... utime (12th) stime (13th).
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def measure_fanout(port: int, sockets: int, seconds: float) -> float:
    clients: list[Client] = []
    for _ in range(sockets):
        client = await Client.connect(port, "/fanout")
        if await client.recv() != "joined":
            raise RuntimeError("the fan-out did not say joined")
        clients.append(client)

    async def drain(client: Client) -> None:
        for _ in range(BURST):
            if await client.recv() != "m":
                raise RuntimeError("the fan-out sent something else")

    rounds = 0
    started = time.perf_counter()
    while rounds == 0 or time.perf_counter() - started < seconds:
        clients[0].send(str(BURST))
        await asyncio.wait_for(asyncio.gather(*(drain(c) for c in clients)), 60)
        rounds += 1
    took = time.perf_counter() - started
    for client in clients:
        client.close()
    return rounds * BURST * sockets / took


# ---------------------------------------------------------------- the run


def serve(app: str, port: int, python: str, log: Path) -> subprocess.Popen[bytes]:
    target = "websockets_bench:raw_app" if app == "raw" else f"websockets_bench:{app}_app"
    command = [
        python,
        *("-m", "granian", "--interface", "asgi", "--host", HOST, "--port", str(port)),
        *("--workers", "1", "--runtime-threads", "1", "--loop", "asyncio", target),
    ]
    env = {**os.environ, "PYTHONPATH": str(BENCH)}
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            cwd=BENCH,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def measure(python: str, sockets: int, seconds: float, raw: Path) -> list[dict[str, Any]]:
    """One row per app. The three servers run side by side and the echo is measured in
    ``ECHO_ROUNDS`` turns (raw, Starlette, Kettle, raw...), so that a change in the
    machine's load falls on every app alike; the fan-out runs one app after the other."""
    sys.path.insert(0, str(BENCH))
    import run

    rows: dict[str, dict[str, Any]] = {app: {"app": app, "error": ""} for app in APPS}
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for app in APPS:
            port = run._free_port()
            servers[app] = serve(app, port, python, raw / f"websockets-{app}.log"), port
        for app, (process, port) in servers.items():
            if not run._wait_for_port(process, port):
                log = (raw / f"websockets-{app}.log").read_text()
                rows[app]["error"] = f"the server did not start: {run._last_line(log)}"
        live = [app for app in APPS if not rows[app]["error"]]
        count = dict.fromkeys(live, 0)
        took = dict.fromkeys(live, 0.0)
        cpu: dict[str, float | None] = dict.fromkeys(live, 0.0)
        for _ in range(ECHO_ROUNDS):
            for app in list(live):
                process, port = servers[app]
                before = server_cpu(process.pid)
                try:
                    done, spent = asyncio.run(measure_echo(port, seconds / ECHO_ROUNDS))
                except Exception as exc:  # one app's failure is its row's error
                    rows[app]["error"] = f"{type(exc).__name__}: {exc}"
                    live.remove(app)
                    continue
                after = server_cpu(process.pid)
                count[app] += done
                took[app] += spent
                used = cpu[app]
                if before is None or after is None or used is None:
                    cpu[app] = None  # no /proc here
                else:
                    cpu[app] = used + after - before
        for app in live:
            row = rows[app]
            row["echo_per_s"] = count[app] / took[app]
            used = cpu[app]
            if used is not None and count[app]:
                row["echo_cpu_us"] = used / count[app] * 1e6
            try:
                row["fanout_per_s"] = asyncio.run(measure_fanout(servers[app][1], sockets, seconds))
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for process, _ in servers.values():
            run._stop(process)
    return list(rows.values())


def report(rows: list[dict[str, Any]], sockets: int) -> str:
    floor = next((r for r in rows if r["app"] == "raw" and not r["error"]), None)
    lines = [
        f"| app | echo msg/s | vs raw | echo server CPU µs/msg | fan-out to {sockets}, "
        "deliveries/s | vs raw |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row["error"]:
            lines.append(f"| {row['app']} | error: {row['error']} | | | | |")
            continue
        cells = [row["app"]]
        for key in ("echo_per_s", "fanout_per_s"):
            ratio = f"{row[key] / floor[key]:.2f}x" if floor else "-"
            cells += [f"{row[key]:,.0f}", ratio]
            if key == "echo_per_s":
                cpu = row.get("echo_cpu_us")
                cells.append("-" if cpu is None else f"{cpu:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="1 s per measure, 50 sockets")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sockets", type=int, default=1000)
    args = parser.parse_args(argv)
    seconds, sockets = (1.0, 50) if args.smoke else (args.seconds, args.sockets)
    sys.path.insert(0, str(BENCH))
    import run

    run.ensure_venv()
    raw = run.RAW
    raw.mkdir(parents=True, exist_ok=True)
    rows = measure(str(run.PY), sockets, seconds, raw)
    table = report(rows, sockets)
    print(table)
    settings = {"smoke": args.smoke, "seconds": seconds, "sockets": sockets, "burst": BURST}
    (raw / "websockets.json").write_text(json.dumps({"settings": settings, "rows": rows}, indent=2))
    (raw / "websockets.md").write_text(table + "\n")
    return 1 if any(r["error"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
