"""``response.template`` and ``response.context``: what the page rendered, recorded only
for the test clients' requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from kettle import App, Request, Settings, render
from kettle._types import TESTING_EXTENSION
from kettle.testing import AsyncTestClient, TestClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def app() -> App:
    app = App(
        root=FIXTURES,
        templates="templates",
        settings=Settings.load(env_file=None, environ={}, env="testing"),
    )

    @app.get("/page")
    def page() -> object:
        return render("child.html", message="Tea", items=[1, 2])

    @app.get("/json")
    def json() -> dict[str, int]:
        return {"a": 1}

    @app.errorhandler(404)
    def not_found(request: Request, error: Exception) -> object:
        return render("base.html", status=404)

    return app


def test_the_template_and_its_context(client: TestClient) -> None:
    response = client.get("/page")
    assert response.template == "child.html"
    assert response.templates == ["child.html"]
    assert response.context["message"] == "Tea"
    assert response.context["items"] == [1, 2]
    assert isinstance(response.context["request"], Request)


def test_a_json_response_has_no_template(client: TestClient) -> None:
    response = client.get("/json")
    assert response.template is None
    assert response.templates == []
    with pytest.raises(AttributeError, match=r"GET /json rendered no template.*application/json"):
        response.context  # noqa: B018


def test_an_error_page_is_recorded(client: TestClient) -> None:
    response = client.get("/missing")
    assert response.status_code == 404
    assert response.template == "base.html"


def test_several_templates_are_listed(app: App) -> None:
    @app.get("/page-then-404")
    def page_then_404(request: Request) -> object:
        from kettle.responses.template import Template

        first = Template("child.html", {"message": "one"})
        first.render_with(request)
        return render("base.html")

    with TestClient(app) as client:
        response = client.get("/page-then-404")
    assert response.templates == ["child.html", "base.html"]
    assert response.contexts[0]["message"] == "one"
    with pytest.raises(AttributeError, match=r"rendered 2 templates \(child.html, base.html\)"):
        response.template  # noqa: B018


@pytest.mark.anyio
async def test_async_client_records_too(app: App) -> None:
    async with AsyncTestClient(app) as client:
        response = await client.get("/page")
    assert response.template == "child.html"
    assert response.context["message"] == "Tea"


def test_nothing_is_recorded_without_the_test_client(app: App) -> None:
    """A server sets no testing extension: rendering records nothing anywhere."""
    import asyncio

    import httpx

    seen: list[object] = []

    async def spy(scope: dict[str, object], receive: object, send: object) -> None:
        await app(scope, receive, send)  # type: ignore[arg-type]
        seen.append((scope.get("extensions") or {}).get(TESTING_EXTENSION))

    async def scenario() -> int:
        transport = httpx.ASGITransport(app=spy)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return (await c.get("/page")).status_code

    assert asyncio.run(scenario()) == 200
    assert seen == [None]
