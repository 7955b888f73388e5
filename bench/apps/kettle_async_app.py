"""Kettle with an `async def` handler: the same route, no thread-pool hop."""

from kettle import App

app = App()


@app.get("/json")
async def json_hello():
    return {"message": "Hello, World!"}
