"""The ASGI contract in one place: the types every other module speaks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RawHeaders = list[tuple[bytes, bytes]]
#: The key of ``scope["extensions"]`` that Kettle's test clients set (no server does): a
#: dict whose ``"rendered"`` list collects ``(template name, context)`` pairs and whose
#: ``"fill_csrf"`` flag has the CSRF check use the session's own token when none was sent.
TESTING_EXTENSION = "kettle.testing"

__all__ = [
    "TESTING_EXTENSION",
    "ASGIApp",
    "Message",
    "RawHeaders",
    "Receive",
    "Scope",
    "Send",
]
