"""Starlette, written the way its docs teach a JSON endpoint."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def json_hello(request):
    return JSONResponse({"message": "Hello, World!"})


app = Starlette(routes=[Route("/json", json_hello)])
