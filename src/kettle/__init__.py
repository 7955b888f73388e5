"""Kettle: starts as small as Flask, grows into Django's batteries, ASGI-native.

::

    from kettle import App

    app = App()

    @app.get("/")
    def index():
        return "Hello, World!"

Names are imported on first use, so ``import kettle`` stays cheap and an app that never
renders a template or parses a form never loads Jinja2 or the multipart parser.
"""

from kettle._lazy import lazy_getattr

# NOTE: not typing.TYPE_CHECKING: importing typing would cost more than this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from kettle.app import App
    from kettle.csrf import csrf_exempt
    from kettle.exceptions import HTTPException
    from kettle.forms import UploadFile
    from kettle.params import Body, Cookie, File, Form, Header, Query
    from kettle.requests import Request
    from kettle.responses import (
        EventSourceResponse,
        FileResponse,
        HTMLResponse,
        JSONResponse,
        PlainTextResponse,
        RedirectResponse,
        Response,
        ServerSentEvent,
        StreamingResponse,
    )
    from kettle.responses.template import render
    from kettle.scaffold import Group
    from kettle.sessions import flash
    from kettle.settings import Settings
    from kettle.websockets import WebSocket

__version__ = "0.1.0"

# PERF: PEP 562 lazy attributes; each name's module is imported when first asked for.
_LOCATIONS = {
    "App": "kettle.app",
    "Body": "kettle.params",
    "Cookie": "kettle.params",
    "EventSourceResponse": "kettle.responses.streaming",
    "File": "kettle.params",
    "FileResponse": "kettle.responses.file",
    "Form": "kettle.params",
    "Group": "kettle.scaffold",
    "HTMLResponse": "kettle.responses.base",
    "HTTPException": "kettle.exceptions",
    "Header": "kettle.params",
    "JSONResponse": "kettle.responses.base",
    "PlainTextResponse": "kettle.responses.base",
    "Query": "kettle.params",
    "RedirectResponse": "kettle.responses.base",
    "Request": "kettle.requests",
    "Response": "kettle.responses.base",
    "ServerSentEvent": "kettle.responses.streaming",
    "Settings": "kettle.settings",
    "StreamingResponse": "kettle.responses.streaming",
    "UploadFile": "kettle.forms",
    "WebSocket": "kettle.websockets",
    "csrf_exempt": "kettle.csrf",
    "flash": "kettle.sessions",
    "render": "kettle.responses.template",
}

__all__ = [
    "App",
    "Body",
    "Cookie",
    "EventSourceResponse",
    "File",
    "FileResponse",
    "Form",
    "Group",
    "HTMLResponse",
    "HTTPException",
    "Header",
    "JSONResponse",
    "PlainTextResponse",
    "Query",
    "RedirectResponse",
    "Request",
    "Response",
    "ServerSentEvent",
    "Settings",
    "StreamingResponse",
    "UploadFile",
    "WebSocket",
    "csrf_exempt",
    "flash",
    "render",
]


__getattr__ = lazy_getattr(__name__, _LOCATIONS)


def __dir__() -> "list[str]":
    return [*__all__, "__version__"]
