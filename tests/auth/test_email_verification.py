"""E-mail verification (kettle.auth.verification): sign-up links, the mandatory login
gate, new links without enumeration, and bad links, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authsite import PASSWORD, Site, csrf_from, make_site

from kettle.auth import User
from kettle.auth.verification import VerificationTokens
from kettle.testing import TestClient

LINK = re.compile(r"https?://\S+/auth/email/verify/(\S+)")
NONCE = re.compile(r'nonce="[^"]+"')


@pytest.fixture
def strict(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """A site with mandatory verification, on each engine."""
    built = make_site(tmp_path, db_url, email_verification="mandatory")
    built.db.drop_all()
    built.db.create_all()
    yield built
    built.db.drop_all()
    built.db.dispose()


def sign_up(site: Site, client: TestClient, username: str = "ann", email: str = "") -> Any:
    page = client.get("/auth/signup")
    data = {
        "username": username,
        "email": email or f"{username}@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "csrf_token": csrf_from(page.text),
    }
    return client.post("/auth/signup", data=data)


def link_path(site: Site, index: int = -1) -> str:
    match = LINK.search(site.mail.outbox[index].body)
    assert match is not None, site.mail.outbox[index].body
    return "/auth/email/verify/" + match.group(1)


def confirm(client: TestClient, path: str) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_from(page.text)})


def stored(site: Site, username: str = "ann") -> User:
    with site.db.session():
        return User.objects.get(username=username)


def login(client: TestClient, username: str = "ann") -> Any:
    page = client.get("/auth/login")
    data = {"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    return client.post("/auth/login", data=data)


# --- optional (the default) --------------------------------------------------------------
def test_optional_signs_in_mails_a_link_and_shows_a_banner(site: Site) -> None:
    client = TestClient(site.app)
    assert sign_up(site, client).status_code == 303
    [mail] = site.mail.outbox
    assert mail.to == ["ann@example.org"]
    assert "Confirm your e-mail" in mail.subject
    page = client.get("/auth/email")
    assert page.status_code == 200
    assert 'id="verify-banner"' in page.text
    assert not stored(site).email_verified
    path = link_path(site)
    shown = client.get(path)  # a mail scanner's GET consumes nothing
    assert "Confirm ann@example.org" in shown.text
    assert not stored(site).email_verified
    response = client.post(path, data={"csrf_token": csrf_from(shown.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert stored(site).email_verified
    assert 'id="verify-banner"' not in client.get("/auth/email").text


def test_a_link_works_once(site: Site) -> None:
    client = TestClient(site.app)
    sign_up(site, client)
    path = link_path(site)
    assert confirm(client, path).status_code == 303
    again = client.get(path)
    assert again.status_code == 400
    assert "already used" in again.text


def test_tampered_and_expired_links_get_a_clear_400(site: Site) -> None:
    client = TestClient(site.app)
    sign_up(site, client)
    path = link_path(site)
    tampered = client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert tampered.status_code == 400
    assert "damaged" in tampered.text
    assert client.get("/auth/email/verify/%00%ff<script>").status_code in (400, 404)
    settings = site.app.settings
    expired = VerificationTokens(settings.secret_key, max_age=-1)
    token = path.rsplit("/", 1)[1]
    assert expired.read(token) == "expired"
    site.app.state.auth_verification_tokens = expired
    page = client.get(path)
    assert page.status_code == 400
    assert "expired" in page.text
    assert not stored(site).email_verified


def test_a_link_for_another_account_is_refused_while_signed_in(site: Site) -> None:
    ann = TestClient(site.app)
    sign_up(site, ann, "ann")
    path = link_path(site)
    bob = TestClient(site.app)
    sign_up(site, bob, "bob")
    response = bob.get(path)
    assert response.status_code == 403
    assert "another account" in response.text
    assert not stored(site, "ann").email_verified


def test_the_post_needs_the_csrf_token(site: Site) -> None:
    sign_up(site, TestClient(site.app))
    client = TestClient(site.app, enforce_csrf=True)
    response = client.post(link_path(site), data={})
    assert response.status_code == 403
    assert not stored(site).email_verified


# --- mandatory -----------------------------------------------------------------------------
def test_mandatory_needs_an_address_and_does_not_sign_in(strict: Site) -> None:
    client = TestClient(strict.app)
    page = client.get("/auth/signup")
    data = {"username": "ann", "email": "", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post("/auth/signup", data={**data, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 422
    assert "we mail you a link" in response.text
    response = sign_up(strict, client)
    assert response.status_code == 200
    assert "Check your e-mail" in response.text
    assert client.get("/auth/email").status_code == 401  # not signed in


def test_mandatory_login_is_refused_until_the_link_is_followed(strict: Site) -> None:
    client = TestClient(strict.app)
    sign_up(strict, client)
    refused = login(client)
    assert refused.status_code == 403
    assert "Verify your e-mail address first" in refused.text
    assert "Send me a new link" in refused.text
    response = confirm(client, link_path(strict))
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login"
    assert login(client).status_code == 303


def test_resend_answers_alike_for_any_address(strict: Site) -> None:
    client = TestClient(strict.app)
    sign_up(strict, client)
    strict.mail.outbox.clear()
    pages = []
    for email in ("ann@example.org", "nobody@example.org"):
        page = client.get("/auth/email/verify")
        data = {"email": email, "csrf_token": csrf_from(page.text)}
        response = client.post("/auth/email/verify", data=data)
        text = NONCE.sub("", response.text.replace(email, "ADDRESS"))
        pages.append((response.status_code, text))
    assert pages[0] == pages[1]
    assert pages[0][0] == 200
    assert [m.to for m in strict.mail.outbox] == [["ann@example.org"]]


def test_resend_is_throttled_per_address(strict: Site) -> None:
    client = TestClient(strict.app)
    statuses = []
    for _ in range(4):
        page = client.get("/auth/email/verify")
        data = {"email": "Nobody@example.org", "csrf_token": csrf_from(page.text)}
        response = client.post("/auth/email/verify", data=data)
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429]
    assert "Try again in" in response.text
    assert int(response.headers["retry-after"]) > 0


def test_resend_bad_input_is_a_422(strict: Site) -> None:
    client = TestClient(strict.app)
    page = client.get("/auth/email/verify")
    response = client.post("/auth/email/verify", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 422
    assert "required" in response.text
    token = csrf_from(page.text)
    for address, words in (
        ("not-an-address", "valid e-mail address"),
        ("\U0001f600" * 60_000 + "@example.org", "at most 254 characters"),
    ):
        response = client.post("/auth/email/verify", data={"csrf_token": token, "email": address})
        assert response.status_code == 422
        assert words in response.text
    assert strict.mail.outbox == []  # nothing sent, nothing queued


def test_an_address_verified_by_someone_else_meanwhile_is_refused(strict: Site) -> None:
    ann, mallory = TestClient(strict.app), TestClient(strict.app)
    sign_up(strict, ann, "ann", "shared@example.org")
    ann_link = link_path(strict)
    sign_up(strict, mallory, "mallory", "shared@example.org")
    assert confirm(mallory, link_path(strict)).status_code == 303
    response = confirm(ann, ann_link)
    assert response.status_code == 409
    assert "Another account" in response.text
    assert not stored(strict, "ann").email_verified


# --- through kettle.tasks ---------------------------------------------------------------------
def test_with_tasks_the_mail_is_a_task_that_makes_the_link(site: Site) -> None:
    from kettle.tasks import Tasks

    tasks = Tasks(site.app, mode="collect")
    client = TestClient(site.app)
    sign_up(site, client)
    assert site.mail.outbox == []
    [message] = tasks.collected
    assert message.name == "kettle.auth.send_verification_mail"
    assert message.args[0] == "ann@example.org"  # the address, never a token
    tasks.run_collected()
    assert confirm(client, link_path(site)).status_code == 303
    assert stored(site).email_verified
