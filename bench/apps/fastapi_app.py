"""FastAPI, written the way its first-steps tutorial teaches."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/json")
async def json_hello():
    return {"message": "Hello, World!"}
