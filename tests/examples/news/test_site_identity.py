"""The news site's sign-in beyond the password (``news.identity``): editors and admins
must pass two-factor authentication before the admin or moderation, readers may sign in
with GitHub (the test provider of tests/auth), and the header lists the account pages.
On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from news.identity import ACCOUNT_PAGES
from news.roles import EDITOR, READER
from newssite import PASSWORD, Site, csrf_from, make_site

from kettle.auth import Group, User
from kettle.auth.oidc import identity_model_for
from kettle.auth.twofactor import totp_model_for
from kettle.testing import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "auth"))
from kettle.auth.oidc.devprovider import CLIENT_ID, CLIENT_SECRET, OpenIDProvider, running_provider


def password_step(site: Site, username: str) -> tuple[TestClient, str]:
    """A client that gave ``username``'s password, and where the login sent it."""
    client = site.client()
    page = client.get("/auth/login")
    form = {"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    response = client.post("/auth/login", data=form)
    assert response.status_code == 303, response.text
    return client, response.headers["location"]


def test_an_editor_passes_the_second_factor_before_moderating(site: Site) -> None:
    ann = site.user("ann")
    site.user("ed", EDITOR)
    article = site.article(ann, "Spam, spam, eggs")
    editor, where = password_step(site, "ed")
    assert where == "/auth/2fa"
    # Only the password: anonymous everywhere, the admin and moderation included.
    assert editor.get("/admin/").status_code in (302, 303)
    assert "Sign out" not in editor.get("/").text
    token = csrf_from(editor.get("/auth/password/reset").text)
    refused = editor.post(
        f"/articles/{article.id}/moderate", data={"action": "hide", "csrf_token": token}
    )
    assert refused.status_code in (302, 303, 401, 403)
    assert not site.get(type(article), article.id).hidden
    # A wrong code does not let them in either.
    page = editor.get("/auth/2fa/totp")
    wrong = editor.post(
        "/auth/2fa/totp", data={"code": "000000", "csrf_token": csrf_from(page.text)}
    )
    assert wrong.status_code >= 400
    assert editor.get("/admin/").status_code in (302, 303)
    # The code: the admin and moderation open.
    assert site.second_factor(editor, "ed").status_code == 303
    assert editor.get("/admin/").status_code == 200
    response = site.post(editor, f"/articles/{article.id}/moderate", {"action": "hide"})
    assert response.status_code == 303
    assert site.get(type(article), article.id).hidden


def test_a_new_editor_must_enrol_and_a_reader_signs_in_at_once(site: Site) -> None:
    ann = site.user("ann")
    eve = site.user("eve")
    with site.db.session():  # an editor made by hand: no authenticator yet
        user = User.objects.prefetch_related("groups").get(id=eve.id)
        user.groups = [*user.groups, Group.objects.get(name=EDITOR)]
        user.is_staff = True
        user.save()
    editor, where = password_step(site, "eve")
    assert where == "/auth/2fa/setup"
    assert editor.get("/admin/").status_code in (302, 303)
    setup = editor.get("/auth/2fa/setup")
    assert setup.status_code == 200
    assert 'id="secret"' in setup.text
    _, where = password_step(site, "ann")
    assert where == "/"
    with site.db.session():
        assert not totp_model_for(User).objects.filter(user_id=ann.id).exists()


def test_the_header_and_the_profile_list_the_account_pages(site: Site) -> None:
    site.user("ann")
    reader = site.client("ann")
    front = reader.get("/").text
    shown = [(label, route) for label, route in ACCOUNT_PAGES if route != "oidc.identities"]
    for label, route in shown:
        path = site.app.url_for(route)
        assert f'href="{path}"' in front, label
        assert reader.get(path).status_code == 200, path
    assert "Linked accounts" not in front  # no provider configured
    profile = reader.get("/users/ann").text
    assert 'aria-label="Your account"' in profile
    assert 'aria-label="Your account"' not in reader.get("/users/nobody").text
    assert "Account" not in site.client().get("/auth/login").text.split("<main")[0]


def test_times_are_shown_in_the_readers_zone(site: Site) -> None:
    ann = site.user("ann", time_zone="Asia/Tokyo")
    article = site.article(ann, "Tea at altitude", age_hours=1)
    reader = site.client("ann")
    local = article.created.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f'title="{local:%Y-%m-%d %H:%M} JST"' in reader.get("/new").text
    # Signed out: the zone the browser script put in its cookie.
    anonymous = site.client()
    anonymous.cookies.set("kettle_tz", "America/New_York")
    assert re.search(r'title="[0-9: -]+ E[SD]T"', anonymous.get("/new").text)
    assert 'src="/timezone.js"' in anonymous.get("/new").text


# --- GitHub, at the test provider ----------------------------------------------------------
@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIDProvider]:
    with running_provider() as served:
        yield served


@pytest.fixture
def github_site(db_url: str, provider: OpenIDProvider) -> Iterator[Site]:
    provider.reset()
    built = make_site(
        db_url,
        oidc_github_client_id=CLIENT_ID,
        oidc_github_client_secret=CLIENT_SECRET,
        news_github_url=provider.url,
    )
    yield built
    built.close()


def sign_in_with_github(client: TestClient) -> httpx.Response:
    page = client.get("/auth/login")
    assert "Sign in with GitHub" in page.text
    started = client.post(
        "/auth/oidc/github/start", data={"csrf_token": csrf_from(page.text), "next": "/new"}
    )
    assert started.status_code == 303, started.text
    consent = httpx.get(started.headers["location"], follow_redirects=False)
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["location"])
    response: httpx.Response = client.get(f"{back.path}?{back.query}")
    return response


def test_a_reader_signs_in_with_github(github_site: Site, provider: OpenIDProvider) -> None:
    client = github_site.client()
    response = sign_in_with_github(client)
    assert (response.status_code, response.headers["location"]) == (303, "/new")
    page = client.get("/new").text
    assert "Sign out" in page
    assert ">ann<" in page
    assert 'href="/auth/identities"' in page  # "Linked accounts" in the menu
    with github_site.db.session():
        ann = User.objects.prefetch_related("groups").get(username="ann")
        assert [group.name for group in ann.groups] == [READER]  # the sign-up hook ran
        assert not ann.has_usable_password()
        [link] = identity_model_for(User).objects.all()
        assert (link.provider, link.subject) == ("github", str(provider.account.github_id))
    assert client.get("/auth/identities").status_code == 200
    # Signing in again finds the same account.
    again = github_site.client()
    assert sign_in_with_github(again).status_code == 303
    with github_site.db.session():
        assert User.objects.filter(username__startswith="ann").count() == 1


def test_an_editor_signing_in_with_github_still_gives_a_code(
    github_site: Site, provider: OpenIDProvider
) -> None:
    github_site.user("ed", EDITOR)
    with github_site.db.session():
        ed = User.objects.get(username="ed")
        identity_model_for(User).objects.create(
            user_id=ed.id,
            provider="github",
            subject=str(provider.account.github_id),
            email="ed@example.org",
            email_verified=True,
        )
    client = github_site.client()
    response = sign_in_with_github(client)
    assert response.headers["location"] == "/auth/2fa"
    assert client.get("/admin/").status_code in (302, 303)
    assert github_site.second_factor(client, "ed").status_code == 303
    assert client.get("/admin/").status_code == 200
