"""kettle.auth on WebSocket handshakes, on each database engine: ``ws.user`` is the
signed-in user, and guards refuse the handshake of those they would refuse a page."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "auth"))
from authsite import Site, make_site

from db.conftest import db_url, engine_urls  # noqa: F401 - the three engines, reused
from kettle import Group
from kettle.auth import get_user, guard, login_required
from kettle.testing import TestClient, WebSocketDenied
from kettle.websockets import SyncWebSocket, WebSocket


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:  # noqa: F811
    built = make_site(tmp_path, db_url)
    built.db.drop_all()
    built.db.create_all()

    @built.app.websocket("/me")
    async def me(ws: WebSocket) -> None:
        user = get_user(ws)
        await ws.send_json({"user": user.username, "signed_in": user.is_authenticated})

    @built.app.websocket("/me-sync")
    def me_sync(ws: SyncWebSocket) -> None:
        ws.send_json({"user": ws.user.username})

    members = Group("members", prefix="/members")
    guard(members, login_required)

    @members.websocket("/feed")
    async def feed(ws: WebSocket) -> None:
        await ws.send_text(f"welcome {get_user(ws).username}")

    @built.app.websocket("/decorated")
    @login_required
    async def decorated(ws: WebSocket) -> None:
        await ws.send_text("in")

    built.app.include(members)
    yield built
    built.db.drop_all()
    built.db.dispose()


def test_signed_in_user_on_the_socket(site: Site) -> None:
    ann = site.user("ann")
    with TestClient(site.app) as client:
        with client.websocket_connect("/me") as ws:
            assert ws.receive_json() == {"user": "", "signed_in": False}
        client.force_login(ann)
        with client.websocket_connect("/me") as ws:
            assert ws.receive_json() == {"user": "ann", "signed_in": True}
        with client.websocket_connect("/me-sync") as ws:
            assert ws.receive_json() == {"user": "ann"}
        with client.websocket_connect("/members/feed") as ws:
            assert ws.receive_text() == "welcome ann"
        with client.websocket_connect("/decorated") as ws:
            assert ws.receive_text() == "in"


@pytest.mark.parametrize("path", ["/members/feed", "/decorated"])
def test_guards_refuse_anonymous_handshakes(site: Site, path: str) -> None:
    with TestClient(site.app) as client, pytest.raises(WebSocketDenied) as denied:
        client.websocket_connect(path).__enter__()
    assert denied.value.status_code in (302, 303, 401)
