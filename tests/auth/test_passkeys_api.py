"""The passkey JSON endpoints on each engine: registration, passwordless sign-in and the
second factor, with a software authenticator (``softkey.SoftKey``), and every way an
answer is refused: a 4xx that says why, never a 500."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authsite import PASSWORD, Site, make_site
from softkey import SoftKey

from htmlforms import csrf_from
from kettle.auth import User
from kettle.auth.passkeys import Passkeys, ceremony
from kettle.testing import TestClient

Answer = dict[str, Any]
#: What the add-a-passkey form sends besides the name.
TYPED = {"password": PASSWORD}


@pytest.fixture
def keyed(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """A site with passkeys on each engine, with users ann and bob."""
    built = make_site(tmp_path, db_url)
    Passkeys(built.auth)
    built.db.drop_all()
    built.db.create_all()
    built.user("ann")
    built.user("bob")
    yield built
    built.db.drop_all()
    built.db.dispose()


def options(
    client: TestClient, url: str, body: dict[str, Any] | None = None, token: str = ""
) -> Answer:
    headers = {"x-csrf-token": token} if token else {}
    response = client.post(url, json=body or {}, headers=headers)
    assert response.status_code == 200, response.text
    publickey: Answer = response.json()["publicKey"]
    return publickey


def register(site: Site, client: TestClient, key: SoftKey, name: str = "iPhone") -> None:
    """Sign in as ann (if nobody is) and add ``key`` as a passkey named ``name``, as the
    page's script does (the CSRF token in ``X-CSRF-Token``)."""
    page = client.get("/auth/passkeys")
    if page.status_code != 200:
        site.login(client)
        page = client.get("/auth/passkeys")
    token = page.text.split('data-csrf="')[1].split('"')[0]
    body = {"name": name, "password": PASSWORD}
    asked = options(client, "/auth/passkeys/register/options", body, token)
    answer = {"credential": key.create(asked)}
    response = client.post("/auth/passkeys/register", json=answer, headers={"x-csrf-token": token})
    assert response.status_code == 201, response.text


def refused(response: Any, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail


def signed_in(site: Site, client: TestClient) -> str | None:
    page = client.get("/auth/passkeys", follow_redirects=False)
    return "ann" if page.status_code == 200 else None


# --- registration ------------------------------------------------------------------------------
def test_registration_options_and_the_stored_passkey(keyed: Site) -> None:
    key = SoftKey(synced=True)
    with TestClient(keyed.app) as client:
        keyed.login(client)
        first = options(client, "/auth/passkeys/register/options", {"name": " iPhone ", **TYPED})
        assert first["rp"] == {"id": "testserver", "name": "testserver"}
        assert first["user"]["name"] == "ann"
        assert first["authenticatorSelection"]["residentKey"] == "required"
        assert first["excludeCredentials"] == []
        assert len(first["challenge"]) >= 43
        response = client.post("/auth/passkeys/register", json={"credential": key.create(first)})
        assert response.status_code == 201
        assert response.json() == {"redirect": "/auth/passkeys"}
        again = options(client, "/auth/passkeys/register/options", {"name": "laptop", **TYPED})
        assert [c["id"] for c in again["excludeCredentials"]] == [key.id]
        assert again["user"]["id"] == first["user"]["id"]  # one handle per user
        page = client.get("/auth/passkeys")
        assert "iPhone" in page.text
        assert "synced" in page.text
    with keyed.db.session():
        passkey = keyed.app.state.passkeys.model.objects.get()
        assert passkey.name == "iPhone"
        assert passkey.user.username == "ann"
        assert passkey.transports == "hybrid,internal"  # unknown transports dropped
        assert passkey.backed_up
        assert passkey.backup_eligible
        assert passkey.sign_count == 0
        assert passkey.last_used is None


def test_registration_needs_a_session_and_a_good_name(keyed: Site) -> None:
    with TestClient(keyed.app) as client:
        refused(client.post("/auth/passkeys/register/options", json={"name": "x"}), 401, "Sign in")
        keyed.login(client)
        for name in ("", "x" * 101, "bad\x00name"):
            body = {"name": name, **TYPED}
            response = client.post("/auth/passkeys/register/options", json=body)
            refused(response, 400, "The passkey's name")
        # An answer with no options asked for first.
        response = client.post("/auth/passkeys/register", json={"credential": {}})
        refused(response, 400, "No passkey request is waiting")


def test_adding_a_passkey_needs_the_password(keyed: Site) -> None:
    with TestClient(keyed.app) as client:
        keyed.login(client)
        for typed in ({}, {"password": ""}, {"password": 7}):
            response = client.post("/auth/passkeys/register/options", json={"name": "x", **typed})
            refused(response, 400, "Type your current password to add a passkey")
        # Wrong passwords count against the login throttle: 5 per account by default.
        for _ in range(5):
            response = client.post(
                "/auth/passkeys/register/options", json={"name": "x", "password": "no"}
            )
            refused(response, 400, "That is not your current password")
        response = client.post("/auth/passkeys/register/options", json={"name": "x", **TYPED})
        refused(response, 429, "Too many wrong passwords.")
        assert int(response.headers["retry-after"]) > 0


def test_a_passkey_is_registered_once(keyed: Site) -> None:
    key = SoftKey()
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        again = key.create(
            options(client, "/auth/passkeys/register/options", {"name": "again", **TYPED})
        )
        refused(client.post("/auth/passkeys/register", json={"credential": again}), 400, "already")


def test_the_number_of_passkeys_is_limited(tmp_path: Path) -> None:
    from kettle.auth.passkeys import PasskeyOptions

    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'limit.sqlite3'}")
    Passkeys(site.auth, options=PasskeyOptions(max_per_user=1))
    site.db.create_all()
    site.user("ann")
    with TestClient(site.app) as client:
        register(site, client, SoftKey())
        response = client.post("/auth/passkeys/register/options", json={"name": "two", **TYPED})
        refused(response, 400, "the most an account may have (1)")


# --- passwordless sign-in --------------------------------------------------------------------
def test_signing_in_with_a_passkey(keyed: Site) -> None:
    key = SoftKey()
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        client.post("/auth/logout")
        assert signed_in(keyed, client) is None
        asked = options(client, "/auth/passkeys/login/options")
        assert asked["userVerification"] == "required"
        assert asked["allowCredentials"] == []
        assert asked["rpId"] == "testserver"
        before = client.cookies.get("session")
        body = {"credential": key.get(asked), "next": "/drafts"}
        response = client.post("/auth/passkeys/login", json=body)
        assert response.status_code == 200, response.text
        assert response.json() == {"redirect": "/drafts"}
        assert signed_in(keyed, client) == "ann"
        assert client.cookies.get("session") != before  # a new session id
    with keyed.db.session():
        passkey = keyed.app.state.passkeys.model.objects.get()
        assert passkey.sign_count == 1
        assert passkey.last_used is not None


def test_an_unsafe_next_goes_home(keyed: Site) -> None:
    key = SoftKey()
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        client.post("/auth/logout")
        asked = options(client, "/auth/passkeys/login/options")
        body = {"credential": key.get(asked), "next": "//evil.example/"}
        assert client.post("/auth/passkeys/login", json=body).json() == {"redirect": "/"}


def _fresh_login(client: TestClient) -> Answer:
    client.post("/auth/logout")
    return options(client, "/auth/passkeys/login/options")


@pytest.mark.parametrize(
    ("lie", "words"),
    [
        ({"origin": "http://evil.example"}, ["another site than this one", "evil.example"]),
        ({"rp_id": "evil.example"}, ["made for another site", "testserver"]),
        ({"tamper": True}, ["signature does not match"]),
        ({"sign_count": 0}, ["went backwards", "cloned", "iPhone"]),
    ],
)
def test_lying_answers_are_refused(
    keyed: Site, lie: dict[str, Any], words: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    key = SoftKey()
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        first = {"credential": key.get(_fresh_login(client))}  # the server counts 1 use
        assert client.post("/auth/passkeys/login", json=first).status_code == 200
        asked = _fresh_login(client)
        body = {"credential": key.get(asked, **lie)}
        refused(client.post("/auth/passkeys/login", json=body), 400, *words)
        assert signed_in(keyed, client) is None
    cloned = [r for r in caplog.records if "possible clone" in r.getMessage()]
    assert len(cloned) == ("sign_count" in lie)


def test_passwordless_needs_user_verification(keyed: Site) -> None:
    key = SoftKey(user_verified=False)
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        body = {"credential": key.get(_fresh_login(client))}
        refused(client.post("/auth/passkeys/login", json=body), 400, "verify you")


def test_a_challenge_works_once_and_expires(keyed: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    key = SoftKey()
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        asked = _fresh_login(client)
        stale_cookie = client.cookies.get("session")
        answer = key.get(asked)
        assert client.post("/auth/passkeys/login", json={"credential": answer}).status_code == 200
        client.post("/auth/logout")
        again = client.post("/auth/passkeys/login", json={"credential": key.get(asked)})
        refused(again, 400, "No passkey request is waiting")
        # The old cookie still holds the challenge: the store knows it was used.
        client.cookies.set("session", stale_cookie or "")
        replay = client.post("/auth/passkeys/login", json={"credential": key.get(asked)})
        refused(replay, 400, "answered already")
        asked = _fresh_login(client)
        later = time.time() + ceremony.CHALLENGE_SECONDS + 1
        monkeypatch.setattr(ceremony.time, "time", lambda: later)
        late = client.post("/auth/passkeys/login", json={"credential": key.get(asked)})
        refused(late, 400, "expired after 5 minutes")


def test_unknown_and_mismatched_credentials(keyed: Site) -> None:
    key, stranger = SoftKey(), SoftKey()
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        asked = _fresh_login(client)
        stranger.user_handle = key.user_handle
        body = {"credential": stranger.get(asked)}
        refused(client.post("/auth/passkeys/login", json=body), 400, "not registered")
        asked = _fresh_login(client)
        key.user_handle = b"someone else"
        body = {"credential": key.get(asked)}
        refused(client.post("/auth/passkeys/login", json=body), 400, "another account")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, ["not valid JSON"]),
        (b"[1, 2]", 400, ["JSON object"]),
        (b'{"credential": "x"}', 400, ['no "credential" object']),
        (b'{"credential": {"rawId": 7}}', 400, ["credential id is missing"]),
        (b'{"credential": {"rawId": "!!!"}}', 400, ["not registered"]),
        (b'{"credential": {"rawId": "' + b"A" * 2000 + b'"}}', 400, ["too long"]),
        (b'{"credential": {"x": "' + b"A" * 70_000 + b'"}}', 413, ["larger than 65536"]),
    ],
)
def test_malformed_requests_get_a_clear_4xx(
    keyed: Site, body: bytes, status: int, words: list[str]
) -> None:
    with TestClient(keyed.app) as client:
        options(client, "/auth/passkeys/login/options")
        headers = {"content-type": "application/json"}
        response = client.post("/auth/passkeys/login", content=body, headers=headers)
        refused(response, status, *words)


def test_a_broken_answer_is_a_400(keyed: Site) -> None:
    key = SoftKey()
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        answer = key.get(_fresh_login(client))
        answer["response"]["authenticatorData"] = "AAAA"
        refused(client.post("/auth/passkeys/login", json={"credential": answer}), 400, "checked")
        keyed.login(client, "bob")  # ann's password now asks for her passkey
        asked = options(client, "/auth/passkeys/register/options", {"name": "x", **TYPED})
        created = SoftKey().create(asked)
        created["response"]["attestationObject"] = "bm90IGNib3I"
        response = client.post("/auth/passkeys/register", json={"credential": created})
        refused(response, 400)


def test_the_endpoints_need_the_csrf_token(keyed: Site) -> None:
    with TestClient(keyed.app, enforce_csrf=True) as client:
        client.get("/auth/login")  # a session cookie
        assert client.post("/auth/passkeys/login/options", json={}).status_code == 403
        token = client.get("/auth/login").text.split('data-csrf="')[1].split('"')[0]
        headers = {"x-csrf-token": token}
        response = client.post("/auth/passkeys/login/options", json={}, headers=headers)
        assert response.status_code == 200


def test_a_form_post_with_its_token_is_a_400_not_a_500(keyed: Site) -> None:
    # The CSRF check reads a form's token from the body; the endpoint must not read it twice.
    with TestClient(keyed.app, enforce_csrf=True) as client:
        token = client.get("/auth/login").text.split('data-csrf="')[1].split('"')[0]
        for path in ("/auth/passkeys/login/options", "/auth/passkeys/login"):
            response = client.post(path, data={"csrf_token": token, "credential": "x"})
            refused(response, 400, "JSON")


# --- the second factor ------------------------------------------------------------------------
def test_a_passkey_is_the_second_factor_after_a_password(keyed: Site) -> None:
    key = SoftKey(user_verified=False)  # presence is enough after a password
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        client.post("/auth/logout")
        page = client.get("/auth/login?next=/drafts")
        form = {"username": "ann", "password": "tea-at-altitude-1865", "next": "/drafts"}
        sent = client.post("/auth/login", data={**form, "csrf_token": csrf_from(page.text)})
        assert sent.status_code == 303
        assert sent.headers["location"].startswith("/auth/2fa")
        assert signed_in(keyed, client) is None
        assert "Use my passkey" in client.get("/auth/2fa/passkey").text
        asked = options(client, "/auth/2fa/passkey/options")
        assert [c["id"] for c in asked["allowCredentials"]] == [key.id]
        response = client.post("/auth/2fa/passkey/verify", json={"credential": key.get(asked)})
        assert response.status_code == 200, response.text
        assert response.json() == {"redirect": "/drafts"}
        assert signed_in(keyed, client) == "ann"


def test_the_second_factor_needs_a_pending_sign_in_and_ones_own_passkey(keyed: Site) -> None:
    anns, bobs = SoftKey(), SoftKey()
    with TestClient(keyed.app) as client:
        register(keyed, client, anns)
    with TestClient(keyed.app) as client:
        keyed.login(client, "bob")
        register(keyed, client, bobs)
    with TestClient(keyed.app) as client:
        refused(client.post("/auth/2fa/passkey/options", json={}), 400, "Sign in again")
        page = client.get("/auth/2fa/passkey", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/auth/login"
        login = client.get("/auth/login")
        form = {"username": "ann", "password": "tea-at-altitude-1865"}
        client.post("/auth/login", data={**form, "csrf_token": csrf_from(login.text)})
        asked = options(client, "/auth/2fa/passkey/options")
        response = client.post("/auth/2fa/passkey/verify", json={"credential": bobs.get(asked)})
        refused(response, 400, "not registered on this site for this account")
        assert signed_in(keyed, client) is None


def test_a_removed_user_cannot_sign_in_with_a_passkey(keyed: Site) -> None:
    key = SoftKey()
    with TestClient(keyed.app) as client:
        register(keyed, client, key)
        asked = _fresh_login(client)
        with keyed.db.session():
            User.objects.filter(username="ann").update(is_active=False)
        response = client.post("/auth/passkeys/login", json={"credential": key.get(asked)})
        refused(response, 400, "disabled")
        assert signed_in(keyed, client) is None


JUNK: list[Any] = [None, 1, -1, 1.5, "", "x", "AAAA", "!!", [], {}, [1], {"a": 1}, True, "A" * 500]


def mangled(answer: Any, rng: random.Random) -> Any:
    """``answer`` with one value somewhere in it replaced by junk (or dropped)."""
    if isinstance(answer, dict) and answer and rng.random() < 0.7:
        key, copy = rng.choice(list(answer)), dict(answer)
        if rng.random() < 0.2:
            del copy[key]
        else:
            copy[key] = mangled(copy[key], rng) if rng.random() < 0.5 else rng.choice(JUNK)
        return copy
    return rng.choice(JUNK)


def test_mangled_answers_never_cause_a_500(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'mangled.sqlite3'}")
    Passkeys(site.auth)
    site.db.create_all()
    site.user("ann")
    rng = random.Random(18)
    key = SoftKey()
    with TestClient(site.app) as client:
        register(site, client, key)
        for _ in range(60):
            asked = options(client, "/auth/passkeys/register/options", {"name": "k", **TYPED})
            body = {"credential": mangled(SoftKey().create(asked), rng)}
            assert client.post("/auth/passkeys/register", json=body).status_code in (201, 400)
            asked = options(client, "/auth/passkeys/login/options")
            body = {"credential": mangled(key.get(asked), rng)}
            assert client.post("/auth/passkeys/login", json=body).status_code in (200, 400)
