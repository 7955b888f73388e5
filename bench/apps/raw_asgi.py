"""The floor: a bare ASGI callable, no framework.

It still serialises the body per request, so the ratio of a framework to this app
measures the framework's own overhead, not the cost of JSON.
"""

import json

JSON_HEADERS = [(b"content-type", b"application/json")]
NOT_FOUND = [(b"content-type", b"text/plain"), (b"content-length", b"9")]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["path"] == "/json" and scope["method"] == "GET":
        body = json.dumps({"message": "Hello, World!"}).encode()
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": 404, "headers": NOT_FOUND})
    await send({"type": "http.response.body", "body": b"Not Found"})
