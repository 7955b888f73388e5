"""Everything a handler can return besides plain values.

A handler may return a ``str`` (HTML), a ``dict``/``list``/Struct/dataclass (JSON),
``(body, status)``, ``(body, status, headers)`` or any of the classes below.
"""

from kettle.responses.base import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from kettle.responses.file import FileResponse
from kettle.responses.streaming import EventSourceResponse, ServerSentEvent, StreamingResponse

__all__ = [
    "EventSourceResponse",
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "ServerSentEvent",
    "StreamingResponse",
]
