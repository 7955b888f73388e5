"""The contract between ``Broadcast`` and where its messages travel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

#: ``deliver(channel, payload)``: hands a message that arrived to the process's listeners.
Deliver = Callable[[str, str | bytes], None]


class Backend(Protocol):
    """Carries messages between processes: ``publish`` here, ``deliver`` everywhere a
    process subscribed to the channel (its own included). One subscription per channel
    and process: ``Broadcast`` fans each message out to its local listeners.
    """

    def start(self, deliver: Deliver) -> None:
        """Remember where arriving messages go (called once, before anything else)."""

    async def publish(self, channel: str, payload: str | bytes) -> None:
        """Send ``payload`` to every process subscribed to ``channel``."""

    async def subscribe(self, channel: str) -> None:
        """Start hearing ``channel`` in this process."""

    async def unsubscribe(self, channel: str) -> None:
        """Stop hearing ``channel``."""

    async def aclose(self) -> None:
        """Close connections (at shut-down)."""


def backend_from_url(url: str, prefix: str) -> Backend:
    """The backend for ``url``: ``memory://`` or ``redis://host:6379/0``; ``prefix`` keeps
    this app's channels apart from others' on a shared broker::

        backend_from_url("redis://127.0.0.1:6379/0", "news:broadcast")
    """
    from urllib.parse import urlsplit

    from kettle.exceptions import ConfigurationError

    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from kettle.broadcast._memory import MemoryBackend

        return MemoryBackend()
    if scheme in ("redis", "rediss", "unix"):
        try:
            from kettle.broadcast._redis import RedisBackend
        except ImportError:
            raise ConfigurationError(
                f"The broadcast URL {url!r} needs redis-py: pip install 'kettle[redis]'."
            ) from None
        return RedisBackend(url, prefix)
    raise ConfigurationError(
        f"The broadcast URL {url!r} names no known backend: use memory:// or "
        "redis://host:6379/0 (KETTLE_BROADCAST_URL)."
    )
