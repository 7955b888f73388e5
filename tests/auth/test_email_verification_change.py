"""Changing one's e-mail address (/auth/email): the password is required, the new
address gets a link, the old one a notice, and the change waits for the link. On
SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import html
from typing import Any

from authsite import PASSWORD, Site, csrf_from
from test_email_verification import confirm, link_path, stored

from kettle.testing import TestClient


def signed_in(site: Site, username: str = "ann", **values: Any) -> TestClient:
    site.user(username, email_verified=True, **values)
    client = TestClient(site.app)
    site.login(client, username)
    return client


def change(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    page = client.get("/auth/email")
    data = {"email": email, "password": password, "csrf_token": csrf_from(page.text)}
    return client.post("/auth/email", data=data)


def test_the_change_waits_for_the_link_to_the_new_address(site: Site) -> None:
    client = signed_in(site)
    response = change(client, "ann@new.example")
    assert response.status_code == 303
    link, notice = site.mail.outbox
    assert link.to == ["ann@new.example"]
    assert "new e-mail address" in link.subject
    assert notice.to == ["ann@example.org"]
    assert "ann@new.example" in notice.body
    assert "We sent a link to ann@new.example" in html.unescape(client.get("/auth/email").text)
    before = stored(site)
    assert before.email == "ann@example.org"
    assert before.email_verified
    page = client.get(link_path(site, 0))
    assert "becomes <strong>ann@new.example</strong>" in page.text
    assert confirm(client, link_path(site, 0)).status_code == 303
    after = stored(site)
    assert after.email == "ann@new.example"
    assert after.email_verified
    again = client.get(link_path(site, 0))
    assert again.status_code == 400
    assert "already used" in again.text


def test_the_link_works_without_a_session_too(site: Site) -> None:
    change(signed_in(site), "ann@new.example")
    assert confirm(TestClient(site.app), link_path(site, 0)).status_code == 303
    assert stored(site).email == "ann@new.example"


def test_a_newer_change_ends_the_older_link(site: Site) -> None:
    client = signed_in(site)
    change(client, "first@new.example")
    first = link_path(site, 0)
    change(client, "second@new.example")
    assert confirm(client, link_path(site, 2)).status_code == 303
    refused = client.get(first)
    assert refused.status_code == 400
    assert "already used" in refused.text
    assert stored(site).email == "second@new.example"


def test_the_password_and_a_valid_new_address_are_required(site: Site) -> None:
    client = signed_in(site)
    wrong = change(client, "ann@new.example", "not-my-password")
    assert wrong.status_code == 422
    assert "not your current password" in wrong.text
    for bad in ("", "not-an-address", "ANN@example.org"):
        assert change(client, bad).status_code == 422
    assert site.mail.outbox == []


def test_an_address_another_account_verified_is_refused(site: Site) -> None:
    site.user("bob", email="taken@example.org", email_verified=True)
    client = signed_in(site)
    response = change(client, "Taken@Example.org")
    assert response.status_code == 422
    assert "Another account" in response.text


def test_an_address_taken_meanwhile_is_refused_at_the_link(site: Site) -> None:
    client = signed_in(site)
    change(client, "shared@example.org")
    site.user("bob", email="shared@example.org", email_verified=True)
    response = confirm(client, link_path(site, 0))
    assert response.status_code == 409
    assert "Another account" in response.text
    assert stored(site).email == "ann@example.org"


def test_the_page_needs_a_signed_in_user(site: Site) -> None:
    client = TestClient(site.app)
    assert client.get("/auth/email", headers={"accept": "text/html"}).status_code in (302, 303)


def test_with_verification_off_the_change_is_at_once(site: Site) -> None:
    client = signed_in(site)
    site.auth.options = type(site.auth.options)(
        hasher=site.auth.options.hasher, email_verification="none"
    )
    assert change(client, "ann@new.example").status_code == 303
    after = stored(site)
    assert after.email == "ann@new.example"
    assert not after.email_verified
    assert site.mail.outbox == []
