"""The app the WebSocket server tests serve (with Granian and uvicorn)."""

from __future__ import annotations

import os

import msgspec

from kettle import App, Request
from kettle.broadcast import Broadcast
from kettle.websockets import SyncWebSocket, WebSocket, WebSocketOptions

app = App(templates=None, static=None)
app.websocket_options = WebSocketOptions(max_message_size=1024, send_buffer=8, send_timeout=1.0)
broadcast = Broadcast(app, prefix=os.environ.get("WSAPP_PREFIX", "wsapp"))


class Chat(msgspec.Struct):
    text: str


@app.websocket("/echo")
async def echo(ws: WebSocket) -> None:
    async for message in ws:
        if isinstance(message, str):
            await ws.send_text(message)
        else:
            await ws.send_bytes(message)


@app.websocket("/sync-echo")
def sync_echo(ws: SyncWebSocket) -> None:
    for text in ws.iter(str):
        ws.send_text(text)


@app.websocket("/chat")
async def chat(ws: WebSocket) -> None:
    async for msg in ws.iter(Chat):
        await ws.send_json({"said": msg.text})


@app.websocket("/idle", options=WebSocketOptions(idle_timeout=0.5))
async def idle(ws: WebSocket) -> None:
    async for message in ws:
        await ws.send_text(str(message))


@app.websocket("/firehose")
async def firehose(ws: WebSocket) -> None:
    chunk = "x" * 1000
    for _ in range(100_000):
        await ws.send_text(chunk)


@app.websocket("/rooms/<room>")
async def room(ws: WebSocket, room: str) -> None:
    async with broadcast.join(room, ws):
        await ws.send_text("joined")
        async for text in ws.iter(str):
            await broadcast.publish(room, text)


@app.post("/rooms/<room>")
async def publish(room: str) -> dict[str, str]:
    await broadcast.publish(room, f"from {os.getpid()}")
    return {"sent": room}


#: A page that talks to a WebSocket with the browser's own API and shows what happened;
#: ``{target}`` is the socket's URL (this site's by default, or another's).
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><h1>{title}</h1><p>Socket: <code id="target"></code></p><p id="status">connecting</p>
<script nonce="{nonce}">
const target = {target} || `ws://${{location.host}}/echo`;
document.getElementById("target").textContent = target;
const status = document.getElementById("status");
const ws = new WebSocket(target);
ws.onopen = () => ws.send("hello from the page");
ws.onmessage = (event) => {{ status.textContent = `echo: ${{event.data}}`; }};
ws.onclose = (event) => {{
  if (!status.textContent.startsWith("echo")) status.textContent = `closed ${{event.code}}`;
}};
</script></body></html>
"""


@app.get("/")
def page(request: Request) -> str:
    return PAGE.format(title="Echo", nonce=request.csp_nonce, target='""')
