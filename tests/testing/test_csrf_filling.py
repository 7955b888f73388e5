"""The test clients fill in CSRF tokens unless told to enforce the check."""

from __future__ import annotations

from pathlib import Path

import pytest

from kettle import App, Request, Settings, render
from kettle.testing import AsyncTestClient, TestClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def make_app(**settings: object) -> App:
    app = App(
        root=FIXTURES,
        templates="templates",
        settings=Settings.load(env_file=None, environ={}, env="testing", **settings),
    )

    @app.get("/form")
    def form() -> object:
        return render("form.html")

    @app.post("/submit")
    async def submit(request: Request) -> dict[str, object]:
        form = await request.form()
        return {"title": form.get("title")}

    @app.delete("/items/<int:id>")
    def delete_item(id: int) -> dict[str, object]:
        return {"deleted": id}

    return app


def test_a_form_post_gets_the_session_token() -> None:
    with TestClient(make_app()) as client:
        client.get("/form")  # the session exists: the check applies
        response = client.post("/submit", data={"title": "tea"})
        assert response.status_code == 200
        assert response.json() == {"title": "tea"}


def test_a_post_with_no_page_before_gets_a_token_too() -> None:
    with TestClient(make_app()) as client:
        client.cookies.set("session", "anything")  # a cookie, so the check applies
        assert client.post("/submit", data={"title": "tea"}).status_code == 200
        assert client.delete("/items/3").json() == {"deleted": 3}


def test_over_https_the_client_sends_the_origin_a_browser_would() -> None:
    with TestClient(make_app(), base_url="https://testserver") as client:
        client.get("/form")
        assert client.post("/submit", data={"title": "tea"}).status_code == 200


def test_a_wrong_token_is_still_refused() -> None:
    with TestClient(make_app()) as client:
        client.get("/form")
        response = client.post("/submit", data={"title": "tea", "csrf_token": "forged"})
        assert response.status_code == 403


def test_a_foreign_origin_is_still_refused() -> None:
    with TestClient(make_app()) as client:
        client.get("/form")
        response = client.post("/submit", data={"title": "x"}, headers={"origin": "https://evil"})
        assert response.status_code == 403


def test_enforce_csrf_sends_requests_as_written() -> None:
    with TestClient(make_app(), enforce_csrf=True) as client:
        client.get("/form")
        response = client.post("/submit", data={"title": "tea"})
        assert response.status_code == 403
        assert "csrf_token form field" in response.text
        assert "origin" not in response.request.headers


@pytest.mark.anyio
async def test_async_client_fills_in_and_enforces_alike() -> None:
    async with AsyncTestClient(make_app()) as client:
        await client.get("/form")
        assert (await client.post("/submit", data={"title": "tea"})).status_code == 200
    async with AsyncTestClient(make_app(), enforce_csrf=True) as strict:
        await strict.get("/form")
        assert (await strict.post("/submit", data={"title": "tea"})).status_code == 403


def test_a_server_never_fills_in_tokens() -> None:
    """Only the test client's ASGI extension asks for the token: a request through any
    other ASGI caller (a server) with no token is refused."""
    import asyncio

    import httpx

    async def scenario() -> int:
        transport = httpx.ASGITransport(app=make_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            await c.get("/form")
            return (await c.post("/submit", data={"title": "tea"})).status_code

    assert asyncio.run(scenario()) == 403
