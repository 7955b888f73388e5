"""Kettle, written the way its docs teach: a plain `def` handler (runs in a thread pool).

`run.py hello --kettle-async` measures kettle_async_app.py instead.
"""

from kettle import App

app = App()


@app.get("/json")
def json_hello():
    return {"message": "Hello, World!"}
