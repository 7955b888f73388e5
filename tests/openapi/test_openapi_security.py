"""Routes guarded by kettle.auth (decorators or ``guard(group, ...)``) are documented as
needing the session cookie (with the CSRF token) or an API token."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from kettle import App, Group, Settings
from kettle.auth import guard, login_required, permission_required, role_required
from kettle.auth.guards import GUARDS_ATTRIBUTE
from kettle.openapi import openapi_of

SECURITY = [{"sessionCookie": []}, {"bearerAuth": []}]


def guarded_app() -> App:
    app = App(settings=Settings.load())

    @app.get("/public")
    def public() -> dict[str, str]:
        return {}

    @app.get("/mine")
    @login_required
    def mine() -> dict[str, str]:
        """My things."""
        return {}

    @app.post("/articles/<int:id>/publish")
    @role_required("editor")
    @permission_required("article.change")
    async def publish(id: int) -> dict[str, str]:
        return {}

    editors = Group("editors", prefix="/editors")
    guard(editors, login_required, role_required("editor"))

    @editors.get("/queue")
    def queue() -> list[int]:
        return []

    app.include(editors)
    return app


def test_guarded_routes_need_a_session_or_a_token() -> None:
    doc = openapi_of(guarded_app()).document()
    validate(doc)  # type: ignore[arg-type]
    paths: dict[str, Any] = doc["paths"]
    assert "security" not in paths["/public"]["get"]
    assert "401" not in paths["/public"]["get"]["responses"]
    mine = paths["/mine"]["get"]
    assert mine["security"] == SECURITY
    assert mine["description"] == "Needs a signed-in user."
    assert mine["summary"] == "My things."
    assert set(mine["responses"]) == {"200", "401", "403"}
    publish = paths["/articles/{id}/publish"]["post"]
    assert publish["security"] == SECURITY
    assert publish["description"] == ("Needs the permission article.change; the role editor.")
    assert [p["name"] for p in publish["parameters"]] == ["id"]  # not the guard's request
    queue = paths["/editors/queue"]["get"]
    assert queue["security"] == SECURITY
    assert queue["description"] == "Needs a signed-in user; the role editor."
    schemes = doc["components"]["securitySchemes"]
    assert schemes["sessionCookie"]["type"] == "apiKey"
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert schemes["sessionCookie"]["name"] == "session"
    assert "X-CSRF-Token" in schemes["sessionCookie"]["description"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`Authorization: Bearer <token>`); it needs no CSRF token.",
    }


def test_the_marker_other_code_sets_counts_too() -> None:
    app = App(settings=Settings.load())

    def handler() -> list[int]:
        return []

    setattr(handler, GUARDS_ATTRIBUTE, ("the permission article.view",))
    app.get("/articles")(handler)
    doc = openapi_of(app).document()
    assert doc["paths"]["/articles"]["get"]["security"] == SECURITY


def test_no_security_schemes_without_guards() -> None:
    app = App(settings=Settings.load())

    @app.get("/")
    def index() -> str:
        return ""

    assert "securitySchemes" not in openapi_of(app).document()["components"]
