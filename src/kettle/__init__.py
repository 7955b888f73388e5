"""Kettle: starts as small as Flask, grows into Django's batteries, ASGI-native.

::

    from kettle import App

    app = App()

    @app.get("/")
    def index():
        return "Hello, World!"
"""

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
from kettle.scaffold import Group
from kettle.sessions import flash
from kettle.settings import Settings
from kettle.templates import render

__version__ = "0.1.0"

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
    "csrf_exempt",
    "flash",
    "render",
]
