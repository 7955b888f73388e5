"""A completed password reset marks the address the link was mailed to as verified
(``kettle.auth.reset``): following the link proved the owner reads that mailbox. On
SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import re

from authsite import Site, csrf_from

from kettle.auth import User
from kettle.testing import TestClient

NEW_PASSWORD = "kettles-whistle-at-dawn"


def _ask_for_link(site: Site, client: TestClient, email: str) -> str:
    page = client.get("/auth/password/reset")
    sent = client.post(
        "/auth/password/reset", data={"email": email, "csrf_token": csrf_from(page.text)}
    )
    assert sent.status_code == 200, sent.text
    match = re.search(r"http://testserver(/auth/password/reset/\S+)", site.mail.outbox[-1].body)
    assert match is not None, site.mail.outbox[-1].body
    return match.group(1)


def _choose(client: TestClient, password: str) -> int:
    """Post ``password`` twice on the confirm page; the status."""
    form = client.get("/auth/password/reset/confirm")
    assert form.status_code == 200, form.text
    data = {"password1": password, "password2": password, "csrf_token": csrf_from(form.text)}
    return client.post("/auth/password/reset/confirm", data=data).status_code


def _verified(site: Site, username: str) -> tuple[str, bool]:
    with site.db.session():
        user = User.objects.get(username=username)
        return user.email, bool(user.email_verified)


def test_a_completed_reset_verifies_the_address(site: Site) -> None:
    site.user("ann")
    assert _verified(site, "ann") == ("ann@example.org", False)
    with TestClient(site.app) as client:
        link = _ask_for_link(site, client, "ann@example.org")
        assert client.get(link).status_code == 303
        assert _choose(client, "ann") == 422  # too weak: nothing done yet
        assert _verified(site, "ann") == ("ann@example.org", False)
        assert _choose(client, NEW_PASSWORD) == 303
    assert _verified(site, "ann") == ("ann@example.org", True)


def test_a_link_to_an_address_changed_since_verifies_nothing(site: Site) -> None:
    site.user("ann")
    with TestClient(site.app) as client:
        link = _ask_for_link(site, client, "ann@example.org")
        with site.db.session():
            ann = User.objects.get(username="ann")
            ann.email = "ann@elsewhere.example"
            ann.save()
        assert client.get(link).status_code == 400  # the link was for the old address
    assert _verified(site, "ann") == ("ann@elsewhere.example", False)


def test_an_address_verified_by_another_account_stays_theirs(site: Site) -> None:
    site.user("bob", email="shared@example.org", email_verified=True)
    site.user("ann", email="shared@example.org")
    with TestClient(site.app) as client:
        page = client.get("/auth/password/reset")
        form = {"email": "shared@example.org", "csrf_token": csrf_from(page.text)}
        assert client.post("/auth/password/reset", data=form).status_code == 200
        assert len(site.mail.outbox) == 2  # one link per account of the address
        ann_id = _id(site, "ann")
        links = [re.search(r"/auth/password/reset/\S+", m.body) for m in site.mail.outbox]
        tokens = [link.group(0) for link in links if link is not None]
        (ann_link,) = [
            t for t in tokens if site.auth.reset_tokens.user_id(t.rsplit("/", 1)[1]) == ann_id
        ]
        assert client.get(ann_link).status_code == 303
        assert _choose(client, NEW_PASSWORD) == 303  # the password is set all the same
    assert _verified(site, "ann") == ("shared@example.org", False)
    assert _verified(site, "bob") == ("shared@example.org", True)


def _id(site: Site, username: str) -> int:
    with site.db.session():
        return User.objects.get(username=username).id
