"""The auth pages through the test client, with the CSRF tokens of the rendered forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from authsite import PASSWORD, Site, csrf_from

from kettle import Request
from kettle.auth import User, get_user
from kettle.testing import TestClient

NEW_PASSWORD = "kettles-whistle-at-dawn"


@dataclass
class Credentials:
    username: str
    password: str


@pytest.fixture
def web(site: Site) -> Site:
    @site.app.get("/me")
    def me(request: Request) -> dict[str, object]:
        user = get_user(request)
        return {"user": user.username, "authenticated": user.is_authenticated}

    site.user("ann")
    return site


def me(client: TestClient) -> dict[str, object]:
    result: dict[str, object] = client.get("/me").json()
    return result


def post_form(client: TestClient, page: str, url: str, **fields: str) -> object:
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**fields, "csrf_token": token})


def session_id(site: Site, client: TestClient) -> str:
    """The session's id: the cookie itself with the database store (the default)."""
    return client.cookies["session"]


# --- login and logout --------------------------------------------------------------------------
def test_the_login_page_is_an_accessible_form(web: Site) -> None:
    with TestClient(web.app) as client:
        page = client.get("/auth/login?next=/drafts")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html
    assert "<main" in html
    assert '<label for="id_username">Username</label>' in html
    assert 'id="id_password" name="password" autocomplete="current-password" required' in html
    assert 'autocomplete="username"' in html
    assert '<input type="hidden" name="next" value="/drafts">' in html
    assert 'name="csrf_token"' in html
    assert "Create an account" in html


def test_login_with_the_forms_csrf_token(web: Site) -> None:
    with TestClient(web.app, enforce_csrf=True) as client:
        assert me(client) == {"user": "", "authenticated": False}
        response = client.post("/auth/login", data={"username": "ann", "password": PASSWORD})
        assert response.status_code == 403  # no CSRF token
        response = post_form(
            client,
            "/auth/login?next=/me",
            "/auth/login",
            username="ann",
            password=PASSWORD,
            next="/me",
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/me"
        assert me(client) == {"user": "ann", "authenticated": True}
        with web.db.session():
            assert User.objects.get(username="ann").last_login is not None
        # Signed in already: the login page sends people on.
        assert client.get("/auth/login?next=/me").headers["location"] == "/me"


def test_a_wrong_password_shows_the_form_again(web: Site) -> None:
    with TestClient(web.app) as client:
        response = post_form(
            client, "/auth/login", "/auth/login", username="ann", password="not it at all"
        )
        assert response.status_code == 422
        assert 'role="alert"' in response.text
        assert "Enter a correct username" in response.text
        assert 'value="ann"' in response.text  # the username is kept, the password is not
        assert "not it at all" not in response.text
        empty = post_form(client, "/auth/login", "/auth/login", username="", password="")
        assert empty.status_code == 422
        assert 'aria-invalid="true" aria-describedby="username-errors"' in empty.text
        assert me(client)["authenticated"] is False


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/articles?page=2", "/articles?page=2"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_next_only_goes_to_this_site(web: Site, next_url: str, location: str) -> None:
    with TestClient(web.app) as client:
        response = post_form(
            client, "/auth/login", "/auth/login", username="ann", password=PASSWORD, next=next_url
        )
        assert response.headers["location"] == location


def test_login_gives_a_new_session_id_and_csrf_secret(web: Site) -> None:
    with TestClient(web.app) as client:
        before = csrf_from(client.get("/auth/login").text)
        id_before = session_id(web, client)
        client.post(
            "/auth/login", data={"username": "ann", "password": PASSWORD, "csrf_token": before}
        )
        assert session_id(web, client) != id_before
        # The token of the page before login is dead: its secret was rotated.
        stale = client.post("/auth/logout", data={"csrf_token": before})
        assert stale.status_code == 403
        assert me(client)["authenticated"] is True


def test_logout_is_a_post_that_clears_the_session(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        assert client.get("/auth/logout").status_code == 405
        response = post_form(client, "/auth/password", "/auth/logout")
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        assert me(client) == {"user": "", "authenticated": False}
        assert "session" not in client.cookies or client.cookies["session"] == ""


def test_a_stolen_cookie_of_a_deleted_account_no_longer_works(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        stolen = client.cookies["session"]
        with web.db.session():  # the account is deleted, the cookie stays
            User.objects.filter(username="ann").delete()
        client.cookies.set("session", stolen)
        assert me(client)["authenticated"] is False


def test_login_and_logout_from_def_code(web: Site) -> None:
    @web.app.post("/api/session")
    def api_login(request: Request, credentials: Credentials) -> tuple[dict[str, bool], int]:
        user = web.auth.authenticate(credentials.username, credentials.password)
        if user is None:
            return {"ok": False}, 401
        web.auth.login(request, user)
        return {"ok": True}, 200

    @web.app.delete("/api/session")
    def api_logout(request: Request) -> None:
        web.auth.logout(request)

    with TestClient(web.app) as client:
        assert client.post("/api/session", json={"username": "ann", "password": "x"}).json() == {
            "ok": False
        }
        response = client.post("/api/session", json={"username": "ann", "password": PASSWORD})
        assert response.json() == {"ok": True}
        assert me(client)["user"] == "ann"
        token = csrf_from(client.get("/auth/password").text)
        assert client.delete("/api/session", headers={"x-csrf-token": token}).status_code == 204
        assert me(client)["authenticated"] is False
    with web.db.session():
        assert User.objects.get(username="ann").last_login is not None


# --- sign-up -----------------------------------------------------------------------------------
def test_signup_creates_an_account_and_signs_in(web: Site) -> None:
    with TestClient(web.app) as client:
        page = client.get("/auth/signup")
        assert 'autocomplete="new-password"' in page.text
        response = client.post(
            "/auth/signup",
            data={
                "username": "bob",
                "email": "bob@example.org",
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
                "csrf_token": csrf_from(page.text),
            },
        )
        assert response.status_code == 303
        assert me(client) == {"user": "bob", "authenticated": True}
        assert "Welcome, bob!" in client.get("/auth/password").text  # the flashed message
    with web.db.session():
        bob = User.objects.get(username="bob")
        assert bob.check_password(NEW_PASSWORD)
        assert not bob.is_staff


def test_signup_errors_are_shown_next_to_their_fields(web: Site) -> None:
    with TestClient(web.app) as client:
        response = post_form(
            client,
            "/auth/signup",
            "/auth/signup",
            username="ANN",
            email="not-an-address",
            password1="annann1234",
            password2="x",
        )
        assert response.status_code == 422
        html = response.text
        assert "That username is taken." in html  # ann exists, in any case
        assert "Enter a valid e-mail address." in html
        assert "The two passwords differ." in html
        assert 'id="password2-errors"' in html
        weak = post_form(
            client,
            "/auth/signup",
            "/auth/signup",
            username="carol",
            email="",
            password1="12345678",
            password2="12345678",
        )
        assert weak.status_code == 422
        assert "too short" in weak.text
        assert "too common" in weak.text
        assert 'aria-describedby="password1-hint password1-errors"' in weak.text
        bad = post_form(
            client,
            "/auth/signup",
            "/auth/signup",
            username="no spaces",
            password1=NEW_PASSWORD,
            password2=NEW_PASSWORD,
        )
        assert "letters, digits" in bad.text
    with web.db.session():
        assert User.objects.count() == 1


def test_a_blank_field_has_one_wording_on_the_pages_and_in_the_models(web: Site) -> None:
    with TestClient(web.app) as client:
        response = post_form(
            client,
            "/auth/signup",
            "/auth/signup",
            username="",
            email="",
            password1="",
            password2="",
        )
    assert response.status_code == 422
    wording = "This field is required."
    assert wording in response.text
    with web.db.session():
        assert User(username="").validation_errors(["username"]) == {"username": [wording]}


def test_signup_can_be_closed(tmp_path: Path) -> None:
    from authsite import make_site

    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'closed.sqlite3'}", signup=False)
    site.db.create_all()
    with TestClient(site.app) as client:
        assert client.get("/auth/signup").status_code == 404
        assert "Create an account" not in client.get("/auth/login").text
    site.db.dispose()


# --- password change ---------------------------------------------------------------------------
def test_a_password_change_ends_the_other_sessions_only(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)  # on the phone
        phone = client.cookies["session"]
        client.cookies.clear()
        web.login(client)  # on the laptop
        response = post_form(
            client,
            "/auth/password",
            "/auth/password",
            old_password=PASSWORD,
            password1=NEW_PASSWORD,
            password2=NEW_PASSWORD,
        )
        assert response.status_code == 303
        assert me(client)["authenticated"] is True  # this session was updated
        assert "Your password was changed" in client.get("/auth/password").text
        client.cookies.set("session", phone)
        assert me(client)["authenticated"] is False  # the other one ended
    with web.db.session():
        assert User.objects.get(username="ann").check_password(NEW_PASSWORD)


def test_a_password_change_needs_the_current_password(web: Site) -> None:
    with TestClient(web.app) as client:
        assert client.get("/auth/password").status_code == 401
        web.login(client)
        response = post_form(
            client,
            "/auth/password",
            "/auth/password",
            old_password="wrong one",
            password1=NEW_PASSWORD,
            password2=NEW_PASSWORD,
        )
        assert response.status_code == 422
        assert "That is not your current password." in response.text
    with web.db.session():
        assert User.objects.get(username="ann").check_password(PASSWORD)


# --- password reset ----------------------------------------------------------------------------
def reset_link(site: Site) -> str:
    message = site.mail.outbox[-1]
    match = re.search(r"http://testserver(/auth/password/reset/\S+)", message.body)
    assert match is not None, message.body
    return match.group(1)


def test_a_password_reset_from_request_to_new_password(web: Site) -> None:
    with TestClient(web.app) as client:
        response = post_form(
            client, "/auth/password/reset", "/auth/password/reset", email="ANN@example.org"
        )
        assert response.status_code == 200
        assert "Check your e-mail" in response.text
        assert len(web.mail.outbox) == 1
        message = web.mail.outbox[0]
        assert message.to == ["ann@example.org"]
        assert message.subject == "Reset your password on testserver"
        link = reset_link(web)
        followed = client.get(link)
        assert followed.status_code == 303
        assert followed.headers["location"] == "/auth/password/reset/confirm"
        form = client.get("/auth/password/reset/confirm")
        assert form.status_code == 200
        assert link not in form.text
        weak = client.post(
            "/auth/password/reset/confirm",
            data={"password1": "ann", "password2": "ann", "csrf_token": csrf_from(form.text)},
        )
        assert weak.status_code == 422
        assert "too short" in weak.text
        done = client.post(
            "/auth/password/reset/confirm",
            data={
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
                "csrf_token": csrf_from(form.text),
            },
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/auth/login"
        assert "Your password has been set" in client.get("/auth/login").text
        # The link worked once.
        assert client.get(link).status_code == 400
        assert client.get("/auth/password/reset/confirm").status_code == 400
        web.login(client, "ann", NEW_PASSWORD)


def test_a_reset_link_dies_when_the_user_signs_in(web: Site) -> None:
    with TestClient(web.app) as client:
        post_form(client, "/auth/password/reset", "/auth/password/reset", email="ann@example.org")
        link = reset_link(web)
        web.login(client)  # last_login changes: the outstanding link is void
        assert client.get(link).status_code == 400
        assert "does not work any more" in client.get(link).text


def test_reset_links_are_not_sent_to_inactive_or_passwordless_accounts(web: Site) -> None:
    web.user("bob", is_active=False)
    with web.db.session():
        User.objects.create(username="cat", email="cat@example.org")  # no usable password
    with TestClient(web.app) as client:
        for address in ("bob@example.org", "cat@example.org", "nobody@example.org"):
            response = post_form(
                client, "/auth/password/reset", "/auth/password/reset", email=address
            )
            assert response.status_code == 200
    assert web.mail.outbox == []


def test_a_forged_reset_token_is_refused(web: Site) -> None:
    with TestClient(web.app) as client:
        assert client.get("/auth/password/reset/WzEsImFhIl0.forged.sig").status_code == 400


def test_a_new_password_needs_a_link_with_a_good_signature(web: Site) -> None:
    with web.db.session():
        token = web.auth.reset_tokens.make(User.objects.get(username="ann"))
    payload, signature = token.rsplit(".", 1)
    tampered = f"{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    with TestClient(web.app) as client:
        form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        response = post_form(client, "/auth/password/reset", "/auth/password/reset/confirm", **form)
        assert response.status_code == 400  # no link followed in this session
        assert client.get(f"/auth/password/reset/{tampered}").status_code == 400
        assert client.get("/auth/password/reset/confirm").status_code == 400
        assert client.get(f"/auth/password/reset/{token}").status_code == 303
    with web.db.session():
        assert User.objects.get(username="ann").check_password(PASSWORD)


# --- templates -----------------------------------------------------------------------------------
def test_a_project_can_restyle_every_auth_page(web: Site) -> None:
    folder = web.app.root / "templates" / "auth"
    folder.mkdir(parents=True)
    (folder / "base.html").write_text(
        "<!doctype html><title>News</title><body class=news>{% block content %}"
        "{% endblock %}</body>",
        encoding="utf-8",
    )
    with TestClient(web.app) as client:
        page = client.get("/auth/login")
        assert "<body class=news>" in page.text
        assert 'name="password"' in page.text
        assert "<body class=news>" in client.get("/auth/password/reset").text
