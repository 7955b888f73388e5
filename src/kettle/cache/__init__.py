"""kettle.cache: one cache API for ``def`` and ``async def`` code, in process or on Redis.

A battery: ``import kettle`` never imports it. ``KETTLE_CACHE_URL`` picks the backend:
``memory://`` (the default: a size-capped LRU in each process) or ``redis://host:6379/0``
(shared by every worker; needs ``pip install 'kettle[redis]'``)::

    from kettle.cache import Cache

    cache = Cache(app)
    cache.set("answer", 42, ttl=60)
    await cache.aget("answer")                       # 42
    front = cache.get_or_set("front", build, ttl=30)  # one computation at a time

``@cache.page(ttl)`` serves whole pages from the cache (``cache_page``), ``conditional``
answers ``If-None-Match``/``If-Modified-Since`` with 304, and templates get a
``{% cache key, ttl %}`` tag for fragments.
"""

from __future__ import annotations

from kettle._lazy import lazy_getattr
from kettle.cache._cache import FOREVER, Backend, Cache, backend_from_url, dumps, loads
from kettle.cache._fragments import FragmentCacheExtension
from kettle.cache._memory import MemoryBackend
from kettle.cache._page import cache_page, conditional, etag_for, not_modified, serve_cached

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kettle.cache._redis import RedisBackend

__all__ = [
    "FOREVER",
    "Backend",
    "Cache",
    "FragmentCacheExtension",
    "MemoryBackend",
    "RedisBackend",
    "backend_from_url",
    "cache_page",
    "conditional",
    "dumps",
    "etag_for",
    "loads",
    "not_modified",
    "serve_cached",
]

# PERF: redis-py is imported only by an app that asks for Redis.
__getattr__ = lazy_getattr(__name__, {"RedisBackend": "kettle.cache._redis"})
