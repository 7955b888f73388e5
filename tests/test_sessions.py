"""Sessions: the signed cookie, its attributes, Vary, clearing, cycling, keys and expiry."""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path

import itsdangerous
import pytest

from kettle import App, HTTPException, Request, Settings, csrf
from kettle.sessions import SignedCookieBackend
from kettle.testing import TestClient

NOW = 1_700_000_000


def make_app(root: Path, **settings: object) -> App:
    options: dict[str, object] = {"env": "testing", "secret_key": "current-key", **settings}
    app = App(root=root, settings=Settings.load(env_file=None, environ={}, **options))

    @app.get("/set")
    def set_value(request: Request, value: str = "ann") -> str:
        request.session["user"] = value
        return "set"

    @app.get("/read")
    def read_value(request: Request) -> dict[str, object]:
        return {"user": request.session.get("user")}

    @app.get("/untouched")
    def untouched() -> str:
        return "nothing to see"

    @app.get("/clear")
    def clear(request: Request) -> str:
        request.session.clear()
        return "cleared"

    @app.get("/pop")
    def pop(request: Request) -> dict[str, object]:
        return {"user": request.session.pop("user", None)}

    @app.get("/cycle")
    def cycle(request: Request) -> str:
        request.session.cycle()
        return "cycled"

    @app.get("/logout")
    def logout(request: Request) -> str:
        request.session.invalidate()
        return "bye"

    return app


@pytest.fixture
def app(tmp_path: Path) -> App:
    return make_app(tmp_path)


@pytest.fixture
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pin itsdangerous' clock; tests move it by changing ``frozen_time[0]``."""
    clock = [NOW]
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: clock[0])
    return clock


def session_cookie(set_cookie: str) -> tuple[str, dict[str, str]]:
    """The value and the lower-cased attributes of a ``Set-Cookie`` header."""
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(set_cookie)
    morsel = parsed["session"]
    attributes = {key: str(morsel[key]) for key in morsel if morsel[key]}
    return morsel.value, attributes


def use_cookie(client: TestClient, value: str) -> None:
    """Replace whatever the jar holds with this session cookie value."""
    client.cookies.clear()
    client.cookies.set("session", value)


def test_setting_a_value_sets_a_protected_cookie(client: TestClient) -> None:
    response = client.get("/set")

    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1
    value, attributes = session_cookie(headers[0])
    assert value
    assert attributes["httponly"] == "True"
    assert attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"
    assert attributes["max-age"] == str(14 * 24 * 3600)
    assert "secure" not in attributes  # testing runs over plain http


def test_session_persists_across_requests(client: TestClient) -> None:
    client.get("/set", params={"value": "bea"})

    assert client.get("/read").json() == {"user": "bea"}
    assert client.get("/read").json() == {"user": "bea"}


def test_sessions_are_per_client(app: App) -> None:
    with TestClient(app) as first, TestClient(app) as second:
        first.get("/set", params={"value": "first"})

        assert second.get("/read").json() == {"user": None}


def test_cookie_is_signed_not_encrypted_and_tampering_empties_it(client: TestClient) -> None:
    client.get("/set", params={"value": "ann"})
    value = client.cookies["session"]
    payload, _, rest = value.partition(".")
    # Claim to be someone else: the payload changes, the signature does not.
    forged = itsdangerous.URLSafeSerializer("x").dump_payload({"user": "root"}).decode()

    use_cookie(client, forged + "." + rest)
    assert client.get("/read").json() == {"user": None}

    use_cookie(client, payload + "." + rest)
    assert client.get("/read").json() == {"user": "ann"}


def test_cookie_signed_with_another_key_is_ignored(tmp_path: Path) -> None:
    other = make_app(tmp_path, secret_key="someone-elses-key")
    with TestClient(other) as client:
        client.get("/set", params={"value": "mallory"})
        stolen = client.cookies["session"]

    with TestClient(make_app(tmp_path)) as client:
        use_cookie(client, stolen)
        assert client.get("/read").json() == {"user": None}


def test_reading_the_session_adds_vary_cookie(client: TestClient) -> None:
    assert client.get("/read").headers["vary"] == "Cookie"  # even with no cookie yet
    client.get("/set")
    assert client.get("/read").headers["vary"] == "Cookie"


def test_untouched_session_adds_no_vary_and_no_cookie(client: TestClient) -> None:
    client.get("/set")

    response = client.get("/untouched")

    assert "vary" not in response.headers
    assert "set-cookie" not in response.headers


def test_unchanged_session_sends_no_cookie(client: TestClient) -> None:
    client.get("/set")

    response = client.get("/read")

    assert response.json() == {"user": "ann"}
    assert "set-cookie" not in response.headers


def test_reading_an_empty_session_sets_no_cookie(client: TestClient) -> None:
    response = client.get("/read")

    assert "set-cookie" not in response.headers
    assert "session" not in client.cookies


def test_clearing_deletes_the_cookie(client: TestClient) -> None:
    client.get("/set")

    response = client.get("/clear")

    value, attributes = session_cookie(response.headers["set-cookie"])
    assert value == ""
    assert attributes["max-age"] == "0"
    assert attributes["path"] == "/"
    assert "session" not in client.cookies
    assert client.get("/read").json() == {"user": None}


def test_popping_the_last_key_deletes_the_cookie(client: TestClient) -> None:
    client.get("/set")

    assert client.get("/pop").json() == {"user": "ann"}
    assert "session" not in client.cookies


def test_invalidate_drops_the_data(client: TestClient) -> None:
    client.get("/set")

    client.get("/logout")

    assert client.get("/read").json() == {"user": None}


def test_cycle_keeps_the_data(client: TestClient) -> None:
    client.get("/set", params={"value": "ann"})

    response = client.get("/cycle")

    assert "set-cookie" in response.headers
    assert client.get("/read").json() == {"user": "ann"}


def test_cycle_issues_a_new_cookie_value(client: TestClient, frozen_time: list[int]) -> None:
    client.get("/set")
    before = client.cookies["session"]

    client.get("/cycle")

    assert client.cookies["session"] != before


def test_old_key_in_fallbacks_still_loads(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, secret_key="old-key")) as client:
        client.get("/set", params={"value": "ann"})
        old_cookie = client.cookies["session"]

    rotated = make_app(tmp_path, secret_key="new-key", secret_key_fallbacks=["old-key"])
    with TestClient(rotated) as client:
        use_cookie(client, old_cookie)
        assert client.get("/read").json() == {"user": "ann"}
        # A changed session is signed again with the new key alone.
        new_cookie, _ = session_cookie(
            client.get("/set", params={"value": "bea"}).headers["set-cookie"]
        )

    with TestClient(make_app(tmp_path, secret_key="new-key")) as client:
        use_cookie(client, new_cookie)
        assert client.get("/read").json() == {"user": "bea"}


def test_old_key_without_fallback_is_rejected(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, secret_key="old-key")) as client:
        client.get("/set")
        old_cookie = client.cookies["session"]

    with TestClient(make_app(tmp_path, secret_key="new-key")) as client:
        use_cookie(client, old_cookie)
        assert client.get("/read").json() == {"user": None}


def test_session_max_age_setting_sets_the_cookie_max_age(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, session_max_age=600)) as client:
        _, attributes = session_cookie(client.get("/set").headers["set-cookie"])

    assert attributes["max-age"] == "600"


def test_custom_cookie_name_and_samesite(tmp_path: Path) -> None:
    app = make_app(tmp_path, session_cookie="sid", session_cookie_samesite="strict")
    with TestClient(app) as client:
        header = client.get("/set").headers["set-cookie"]
        assert client.get("/read").json() == {"user": "ann"}

    assert header.startswith("sid=")
    assert "samesite=strict" in header.lower()
    assert "session" not in client.cookies


def test_secure_flag_in_production(tmp_path: Path) -> None:
    app = make_app(tmp_path, env="production", allowed_hosts=["testserver"])
    with TestClient(app, base_url="https://testserver") as client:
        header = client.get("/set").headers["set-cookie"]
        assert client.get("/read").json() == {"user": "ann"}

    attributes = [part.strip().lower() for part in header.split(";")]
    assert "secure" in attributes
    assert "httponly" in attributes


def test_secure_flag_can_be_turned_off(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, env="production", allowed_hosts=["testserver"], session_cookie_secure=False
    )
    with TestClient(app) as client:
        header = client.get("/set").headers["set-cookie"]

    assert "secure" not in header.lower()


# --- the backend on its own ---------------------------------------------------------------


@pytest.mark.anyio
async def test_backend_round_trip() -> None:
    backend = SignedCookieBackend("key")

    token = await backend.save(None, {"cart": [1, 2]}, 60)

    assert await backend.load(token) == {"cart": [1, 2]}
    assert await backend.load(token + "x") is None
    assert await backend.load("not a token") is None
    assert await SignedCookieBackend("other").load(token) is None


@pytest.mark.anyio
async def test_backend_expires_after_max_age(frozen_time: list[int]) -> None:
    backend = SignedCookieBackend("key", max_age=60)
    token = await backend.save(None, {"user": "ann"}, 60)

    frozen_time[0] = NOW + 60
    assert await backend.load(token) == {"user": "ann"}
    frozen_time[0] = NOW + 61
    assert await backend.load(token) is None


@pytest.mark.anyio
async def test_backend_without_max_age_never_expires(frozen_time: list[int]) -> None:
    backend = SignedCookieBackend("key")
    token = await backend.save(None, {"user": "ann"}, 0)

    frozen_time[0] = NOW + 10 * 365 * 24 * 3600
    assert await backend.load(token) == {"user": "ann"}


@pytest.mark.anyio
async def test_backend_fallback_keys(frozen_time: list[int]) -> None:
    old_token = await SignedCookieBackend("old").save(None, {"n": 1}, 0)

    assert await SignedCookieBackend("new", fallbacks=["old"]).load(old_token) == {"n": 1}
    assert await SignedCookieBackend("new").load(old_token) is None
    new_token = await SignedCookieBackend("new", fallbacks=["old"]).save(None, {"n": 2}, 0)
    assert await SignedCookieBackend("new").load(new_token) == {"n": 2}


@pytest.mark.anyio
async def test_backend_refuses_non_dict_payloads() -> None:
    backend = SignedCookieBackend("key")
    token = backend.serializer.dumps(["not", "a", "dict"])

    assert await backend.load(token) is None


def test_expired_cookie_gives_an_empty_session(tmp_path: Path, frozen_time: list[int]) -> None:
    with TestClient(make_app(tmp_path, session_max_age=60)) as client:
        client.get("/set")
        frozen_time[0] = NOW + 30
        assert client.get("/read").json() == {"user": "ann"}
        frozen_time[0] = NOW + 61
        assert client.get("/read").json() == {"user": None}


# --- error responses leave the session alone -----------------------------------------------
def app_with_error_pages(root: Path, **settings: object) -> App:
    """``make_app`` plus a POST-only route and error pages with a form on them (a layout
    with a "Sign out" button asks for the CSRF token, which lives in the session)."""
    app = make_app(root, **settings)

    @app.post("/only-post")
    def only_post() -> str:
        return "posted"

    @app.get("/refused")
    def refused(request: Request) -> str:
        raise HTTPException(403, "Not for you.")

    @app.get("/broken")
    def broken(request: Request) -> str:
        request.session.invalidate()
        raise RuntimeError("the handler failed after ending the session")

    def page(request: Request, exc: Exception) -> tuple[str, int]:
        status = exc.status if isinstance(exc, HTTPException) else 500
        return f'<form method="post"><input value="{csrf.get_token(request)}"></form>', status

    for status in (403, 404, 405, 500):
        app.errorhandler(status)(page)
    return app


ERROR_SETTINGS = {
    "development": {"env": "development"},
    "production": {"env": "production", "allowed_hosts": ["testserver"]},
}


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/missing", 404),
        ("GET", "/missing/", 404),
        ("POST", "/missing", 404),
        ("GET", "/only-post", 405),
        ("GET", "/refused", 403),
        ("GET", "/broken", 500),
    ],
)
def test_an_error_response_leaves_the_session_cookie_alone(
    tmp_path: Path, environment: str, method: str, path: str, status: int
) -> None:
    app = app_with_error_pages(tmp_path, **ERROR_SETTINGS[environment])
    with TestClient(app, base_url="https://testserver") as client:
        client.get("/set", params={"value": "ann"})
        cookie = client.cookies["session"]

        response = client.request(method, path, headers={"origin": "https://testserver"})

        assert response.status_code == status
        assert 'input value="' in response.text  # the page has its form
        assert "set-cookie" not in response.headers
        assert client.cookies["session"] == cookie
        assert client.get("/read").json() == {"user": "ann"}


def test_an_error_page_may_start_a_session_for_a_client_without_one(tmp_path: Path) -> None:
    with TestClient(app_with_error_pages(tmp_path)) as client:
        response = client.get("/missing")

        assert response.status_code == 404
        assert "session" in client.cookies  # the form on the page can be posted
