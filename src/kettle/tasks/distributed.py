"""The distributed backend's entry point: which engine carries a broker URL's tasks.

``Tasks`` calls ``from_url`` for ``KETTLE_TASKS_URL=redis://...`` (and the other broker
schemes); the engine is Dramatiq on Redis (``kettle.tasks.dramatiq``; why, in
docs/tasks.md, "Choosing the distributed engine")::

    tasks = Tasks(app, url="redis://127.0.0.1:6379/0")
    tasks.backend.name        # "redis"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from kettle.tasks._tasks import Tasks
    from kettle.tasks.dramatiq import DramatiqBackend


def from_url(url: str, tasks: Tasks) -> DramatiqBackend:
    """The backend for a broker URL; its visibility timeout defaults to the ``Tasks``
    object's (a ``visibility_timeout`` in the URL's query wins)::

        from_url("redis://127.0.0.1:6379/0", tasks).name   # "redis"
    """
    scheme = url.partition(":")[0].lower()
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"KETTLE_TASKS_URL={url!r}: the distributed task backend runs on Redis "
            "(Dramatiq's Redis broker), not on RabbitMQ; use redis://host:6379/0, or "
            "'database' for the app's own database."
        )
    try:
        from kettle.tasks.dramatiq import DramatiqBackend
    except ImportError as error:
        raise ConfigurationError(
            f"KETTLE_TASKS_URL={url!r} needs Dramatiq ({error}): pip install 'kettle[tasks-redis]'."
        ) from None
    return DramatiqBackend(url, visibility_timeout=tasks.visibility_timeout)


__all__ = ["from_url"]
