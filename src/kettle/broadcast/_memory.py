"""The in-process backend: a publish reaches this process's subscribers only."""

from __future__ import annotations

from kettle.broadcast._backend import Deliver


class MemoryBackend:
    """Delivers every message at once to the subscribers of the same process; the
    default, and right for one worker (and for tests)::

        broadcast = Broadcast(app, "memory://")
    """

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    def start(self, deliver: Deliver) -> None:
        """Hand every published message to ``deliver(channel, payload)``."""
        self._deliver = deliver

    async def publish(self, channel: str, payload: str | bytes) -> None:
        """Deliver ``payload`` to this process's subscribers of ``channel``."""
        if self._deliver is not None:
            self._deliver(channel, payload)

    async def subscribe(self, channel: str) -> None:
        """Nothing to do: every channel is heard in process."""

    async def unsubscribe(self, channel: str) -> None:
        """Nothing to do."""

    async def aclose(self) -> None:
        """Nothing to close."""
