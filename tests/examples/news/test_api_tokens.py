"""The API's tokens: issue with a lifetime, list one's own, revoke by id or the current one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from newssite import PASSWORD, Site

from htmlforms import csrf_from
from kettle.auth import ApiToken
from kettle.db import fields
from kettle.testing import TestClient


def issue(client: TestClient, username: str = "ann", **extra: Any) -> Any:
    return client.post("/api/tokens", json={"username": username, "password": PASSWORD, **extra})


def bearer(response: Any) -> dict[str, str]:
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['token']}"}


def lifetime_of(body: dict[str, Any]) -> dt.timedelta:
    return dt.datetime.fromisoformat(body["expires"]) - fields.now()


def close_to(actual: dt.timedelta, expected: dt.timedelta) -> bool:
    return abs(actual - expected) < dt.timedelta(minutes=1)


def test_a_token_gets_the_default_lifetime_or_the_one_asked_for(site: Site) -> None:
    site.user("ann")
    client = TestClient(site.app)
    default = issue(client)
    assert default.status_code == 201
    assert close_to(lifetime_of(default.json()), dt.timedelta(days=90))
    week = issue(client, name="ci", expires_in_days=7)
    assert week.status_code == 201
    assert week.json()["name"] == "ci"
    assert close_to(lifetime_of(week.json()), dt.timedelta(days=7))
    with site.db.session():
        stored = ApiToken.objects.get(id=week.json()["id"]).expires
        assert stored is not None
        assert close_to(stored - fields.now(), dt.timedelta(days=7))


@pytest.mark.parametrize("days", [0, -1, 366, 100_000])
def test_a_lifetime_out_of_range_is_a_422(sqlite_site: Site, days: int) -> None:
    sqlite_site.user("ann")
    response = issue(TestClient(sqlite_site.app), expires_in_days=days)
    assert response.status_code == 422
    assert "expires_in_days must be between 1 and 365" in response.json()["detail"]
    with sqlite_site.db.session():
        assert ApiToken.objects.count() == 0


@pytest.mark.parametrize("name", ["nul\x00byte", "line\nbreak", ""])
def test_a_token_name_must_be_printable_text(site: Site, name: str) -> None:
    site.user("ann")
    response = issue(TestClient(site.app), name=name)
    assert response.status_code == 422
    assert "name must be 1 to 100 printable characters" in response.json()["detail"]


def test_listing_ones_tokens_without_their_hashes(site: Site) -> None:
    site.user("ann")
    site.user("bob")
    client = TestClient(site.app)
    first = issue(client, name="laptop")
    headers = bearer(issue(client, name="phone"))
    issue(client, "bob", name="bob's bot")
    listing = client.get("/api/tokens", headers=headers)
    assert listing.status_code == 200
    tokens = listing.json()["tokens"]
    assert [t["name"] for t in tokens] == ["phone", "laptop"]
    assert [t["current"] for t in tokens] == [True, False]
    phone = tokens[0]
    assert set(phone) == {
        "id", "name", "prefix", "created", "last_used", "expires", "revoked", "state", "current"
    }  # fmt: skip
    assert phone["state"] == "active"
    assert phone["last_used"] is not None  # this request used it
    assert tokens[1]["last_used"] is None
    assert first.json()["token"].startswith(tokens[1]["prefix"])
    with site.db.session():
        hashes = [t.key_hash for t in ApiToken.objects.all()]
    assert not any(h in listing.text for h in hashes)
    assert client.get("/api/tokens").status_code == 401


def test_revoking_one_of_ones_tokens_by_id(site: Site) -> None:
    site.user("ann")
    site.user("bob")
    client = TestClient(site.app)
    laptop = issue(client, name="laptop")
    headers = bearer(issue(client, name="phone"))
    bobs = issue(client, "bob", name="bob's bot")
    revoked = client.delete(f"/api/tokens/{laptop.json()['id']}", headers=headers)
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert revoked.json()["revoked"] is not None
    refused = client.get("/api/tokens", headers=bearer(laptop))
    assert refused.status_code == 401
    assert "it was revoked on" in refused.json()["detail"]
    theirs = client.delete(f"/api/tokens/{bobs.json()['id']}", headers=headers)
    assert theirs.status_code == 404
    assert theirs.json()["detail"] == f"You have no API token with id {bobs.json()['id']}."
    assert client.delete("/api/tokens/999999", headers=headers).status_code == 404
    assert client.get("/api/tokens", headers=bearer(bobs)).status_code == 200


@pytest.mark.parametrize("path", ["/api/tokens", "/api/tokens/current"])
def test_revoking_the_token_of_the_request(site: Site, path: str) -> None:
    site.user("ann")
    client = TestClient(site.app)
    headers = bearer(issue(client, name="laptop"))
    other = bearer(issue(client, name="phone"))
    done = client.delete(path, headers=headers)
    assert done.status_code == 200
    assert (done.json()["name"], done.json()["state"]) == ("laptop", "revoked")
    assert client.get("/api/tokens", headers=headers).status_code == 401
    assert client.get("/api/tokens", headers=other).status_code == 200


def test_a_session_has_no_current_token_to_revoke(sqlite_site: Site) -> None:
    sqlite_site.user("ann")
    browser = sqlite_site.client("ann")
    token = csrf_from(browser.get("/auth/password").text)
    answer = browser.delete(
        "/api/tokens/current", headers={"x-csrf-token": token, "accept": "application/json"}
    )
    assert answer.status_code == 400
    assert "not signed in with an API token" in answer.json()["detail"]
