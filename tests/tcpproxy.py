"""A TCP proxy in front of a shared server, to play an outage without stopping the server.

The services on a test machine are shared, so tests never stop them: they connect through
this proxy instead and ``stop()`` it (new connections refused, open ones cut), then
``start()`` it again on the same port::

    proxy = Proxy("127.0.0.1", 6379)
    proxy.start()
    client = redis.Redis(port=proxy.port)
    proxy.stop()      # client.ping() now raises ConnectionError
    proxy.start()     # and works again
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class Proxy:
    """A TCP proxy on 127.0.0.1 (a free port, kept across restarts) in a thread of its own."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> None:
        """Listen (again on the same port after a ``stop``)."""
        self._run(self._start())

    def stop(self) -> None:
        """Refuse new connections and cut every open one."""
        self._run(self._stop())

    def close(self) -> None:
        """Stop for good and end the thread."""
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._open:
            writer.transport.abort()
        self._open.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, upstream}
        await asyncio.gather(self._copy(reader, upstream), self._copy(upstream_reader, writer))

    @staticmethod
    async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.transport.abort()
