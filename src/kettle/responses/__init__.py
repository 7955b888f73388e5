"""Everything a handler can return besides plain values.

A handler may return a ``str`` (HTML), a ``dict``/``list``/Struct/dataclass (JSON),
``(body, status)``, ``(body, status, headers)`` or any of the classes exported here.
"""

from __future__ import annotations

from kettle._lazy import lazy_getattr

# NOTE: not typing.TYPE_CHECKING: importing typing would cost more than this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from kettle.responses.base import (
        HTMLResponse,
        JSONResponse,
        PlainTextResponse,
        RedirectResponse,
        Response,
    )
    from kettle.responses.file import FileResponse
    from kettle.responses.streaming import (
        EventSourceResponse,
        ServerSentEvent,
        StreamingResponse,
    )
    from kettle.responses.template import Template, render

# PERF: importing kettle.responses.base must not load the file and streaming machinery.
_LOCATIONS = {
    "EventSourceResponse": "kettle.responses.streaming",
    "FileResponse": "kettle.responses.file",
    "HTMLResponse": "kettle.responses.base",
    "JSONResponse": "kettle.responses.base",
    "PlainTextResponse": "kettle.responses.base",
    "RedirectResponse": "kettle.responses.base",
    "Response": "kettle.responses.base",
    "ServerSentEvent": "kettle.responses.streaming",
    "StreamingResponse": "kettle.responses.streaming",
    "Template": "kettle.responses.template",
    "render": "kettle.responses.template",
}

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
    "Template",
    "render",
]


__getattr__ = lazy_getattr(__name__, _LOCATIONS)
