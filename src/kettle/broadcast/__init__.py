"""kettle.broadcast: channels of messages shared by every worker, for WebSockets and more.

A battery: ``import kettle`` never imports it. ``KETTLE_BROADCAST_URL`` picks where the
messages travel: ``memory://`` (the default: one process) or ``redis://host:6379/0``
(Redis pub/sub: every worker and machine; needs ``pip install 'kettle[redis]'``)::

    from kettle.broadcast import Broadcast

    broadcast = Broadcast(app)
    await broadcast.publish("news", {"id": 7})          # from any worker
    async with broadcast.subscribe("news") as news:      # in any worker
        async for message in news: ...
    async with broadcast.join("news", ws): ...           # or straight to a WebSocket
"""

from __future__ import annotations

from kettle._lazy import lazy_getattr
from kettle.broadcast._backend import Backend, Deliver, backend_from_url
from kettle.broadcast._broadcast import Broadcast, SubscriberTooSlow, Subscription
from kettle.broadcast._memory import MemoryBackend

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kettle.broadcast._redis import RedisBackend

__all__ = [
    "Backend",
    "Broadcast",
    "Deliver",
    "MemoryBackend",
    "RedisBackend",
    "SubscriberTooSlow",
    "Subscription",
    "backend_from_url",
]

# PERF: redis-py is imported only by an app that asks for Redis.
__getattr__ = lazy_getattr(__name__, {"RedisBackend": "kettle.broadcast._redis"})
