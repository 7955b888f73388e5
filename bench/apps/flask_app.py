"""Flask, served as WSGI; returning a dict makes a JSON response."""

from flask import Flask

app = Flask(__name__)


@app.get("/json")
def json_hello():
    return {"message": "Hello, World!"}
