"""Test clients that call the app directly, with no server: sync and async.

::

    from kettle.testing import TestClient

    def test_index():
        with TestClient(app) as client:          # runs start-up and shut-down hooks
            assert client.get("/").text == "Hello, World!"
"""

from kettle.testing.client import AsyncTestClient, TestClient

__all__ = ["AsyncTestClient", "TestClient"]
