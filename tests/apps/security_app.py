"""The app the real-server security tests run (``security_app:app``).

Settings come from ``KETTLE_*`` variables set by the test. ``SECURITY_APP_ROOT`` names a
folder holding ``static/`` (served under ``/static``) and a secret file next to it that
no URL may reach.
"""

from __future__ import annotations

import os
from pathlib import Path

from kettle import App, PlainTextResponse, Request
from kettle.csrf import get_token

app = App(__name__, root=Path(os.environ.get("SECURITY_APP_ROOT", Path(__file__).parent)))


@app.get("/")
def index() -> PlainTextResponse:
    return PlainTextResponse("kettle is up")


@app.get("/boom")
def boom() -> int:
    return 1 // 0


@app.post("/body")
async def body(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@app.post("/json")
async def json_body(request: Request) -> dict[str, str]:
    return {"type": type(await request.json()).__name__}


@app.post("/form")
async def form(request: Request) -> dict[str, int]:
    data = await request.form()
    files = sum(1 for _, value in data.multi_items() if not isinstance(value, str))
    await data.close()
    return {"fields": len(data.multi_items()) - files, "files": files}


@app.get("/csrf")
def csrf_token(request: Request) -> dict[str, str]:
    return {"token": get_token(request)}


@app.post("/submit")
def submit() -> dict[str, bool]:
    return {"ok": True}
