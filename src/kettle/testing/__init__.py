"""Testing Kettle apps: clients that call the app directly, with no server, and helpers.

::

    from kettle.testing import TestClient

    def test_index():
        with TestClient(app) as client:          # runs start-up and shut-down hooks
            assert client.get("/").text == "Hello, World!"

The database helpers (``Factory``, ``assert_num_queries``, ``TestDatabases``) load on
first use, so apps without kettle.db never import SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kettle._lazy import lazy_getattr
from kettle.testing._async_websocket import AsyncWebSocketSession, WebSocketDenied
from kettle.testing._websocket import WebSocketSession
from kettle.testing.client import AsyncTestClient, TestClient, use_testing_settings
from kettle.testing.responses import TestResponse

if TYPE_CHECKING:
    from kettle.testing.database import TestDatabases
    from kettle.testing.factories import Factory, Lazy, Sequence, SubFactory
    from kettle.testing.queries import assert_num_queries, count_queries

__getattr__ = lazy_getattr(
    __name__,
    {
        "Factory": "kettle.testing.factories",
        "Lazy": "kettle.testing.factories",
        "Sequence": "kettle.testing.factories",
        "SubFactory": "kettle.testing.factories",
        "TestDatabases": "kettle.testing.database",
        "assert_num_queries": "kettle.testing.queries",
        "count_queries": "kettle.testing.queries",
    },
)

__all__ = [
    "AsyncTestClient",
    "AsyncWebSocketSession",
    "Factory",
    "Lazy",
    "Sequence",
    "SubFactory",
    "TestClient",
    "TestDatabases",
    "TestResponse",
    "WebSocketDenied",
    "WebSocketSession",
    "assert_num_queries",
    "count_queries",
    "use_testing_settings",
]
