"""Signing in through a real OpenID provider on 127.0.0.1: sign-up, sign-in again, GitHub,
usernames, closed sign-up, userinfo, key rotation; on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from authsite import Site
from oidcsite import make_oidc_site, provider, sign_in_with, site, start, whoami
from secondfactors import Marked

from kettle.auth import User
from kettle.auth.oidc import identity_model_for
from kettle.auth.oidc.devprovider import CLIENT_ID, Account, OpenIDProvider
from kettle.testing import TestClient

__all__ = ["provider", "site"]  # the fixtures, used by name
UserIdentity = identity_model_for(User)


def identities(site: Site) -> list[tuple[str, str, str]]:
    with site.db.session():
        rows = list(UserIdentity.objects.select_related("user").order_by("id"))
        return [(row.provider, row.subject, row.user.username) for row in rows]


def test_the_first_sign_in_creates_the_account(site: Site, provider: OpenIDProvider) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        before = client.cookies.get("session")
        response = sign_in_with(client, next="/welcome")
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/welcome"
        assert client.cookies.get("session") != before  # a new session id at sign-in
        assert whoami(client) == "ann"
    with site.db.session():
        ann = User.objects.get(username="ann")
        assert ann.email == "ann@example.org"
        assert ann.email_verified is True
        assert not ann.has_usable_password()
    assert identities(site) == [("acme", "acme-0001", "ann")]


def test_the_request_carries_state_nonce_and_pkce(site: Site, provider: OpenIDProvider) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        url = urlsplit(start(client))
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/authorize"
    assert params["client_id"] == CLIENT_ID
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 40
    assert len(params["nonce"]) >= 40
    assert params["redirect_uri"] == "http://testserver/auth/oidc/acme/callback"
    assert "openid" in params["scope"].split()


def test_signing_in_again_finds_the_same_account(site: Site, provider: OpenIDProvider) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
    provider.account.email = "ann@new.example"  # the provider's address changed
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
        assert whoami(client) == "ann"
    with site.db.session():
        assert User.objects.count() == 1
        identity = UserIdentity.objects.get()
        assert identity.email == "ann@new.example"
        assert identity.last_used is not None


def test_github_signs_up_from_its_api(site: Site, provider: OpenIDProvider) -> None:
    provider.account = Account(email="gus@example.org", preferred_username="gus")
    with TestClient(site.app, enforce_csrf=True) as client:
        response = sign_in_with(client, "github")
        assert response.status_code == 303, response.text
        assert whoami(client) == "gus"
    assert identities(site) == [("github", "583231", "gus")]
    assert ("GET", "/api/user/emails") in provider.log
    with site.db.session():
        assert User.objects.get(username="gus").email_verified is True


def test_a_taken_username_gets_a_number(site: Site, provider: OpenIDProvider) -> None:
    site.user("Ann", email="someone-else@example.org")
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
        assert whoami(client) == "ann2"


def test_a_name_that_is_no_username_falls_back(site: Site, provider: OpenIDProvider) -> None:
    provider.account = Account(preferred_username="\u0430dmin\u0456", email="x@example.org")
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
        assert whoami(client) == "x"


def test_closed_sign_up_creates_no_account(
    tmp_path: Path, db_url: str, provider: OpenIDProvider
) -> None:
    site = make_oidc_site(tmp_path, db_url, provider, signup=False)
    try:
        with TestClient(site.app, enforce_csrf=True) as client:
            response = sign_in_with(client)
            assert response.status_code == 403
            assert "does not open accounts" in response.text
            assert whoami(client) == ""
        with site.db.session():
            assert User.objects.count() == 0
    finally:
        site.db.drop_all()
        site.db.dispose()


def test_the_address_may_come_from_userinfo(site: Site, provider: OpenIDProvider) -> None:
    provider.knobs.email_in_userinfo_only = True
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
    assert ("GET", "/userinfo") in provider.log
    with site.db.session():
        assert User.objects.get(username="ann").email_verified is True


def test_new_signing_keys_are_fetched(site: Site, provider: OpenIDProvider) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
    provider.rotate_key()
    with TestClient(site.app, enforce_csrf=True) as client:
        response = sign_in_with(client)
        assert response.status_code == 303, response.text
    assert provider.log.count(("GET", "/jwks")) >= 2


def test_the_login_page_offers_the_providers(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        html = client.get("/auth/login?next=/drafts").text
    assert 'action="/auth/oidc/acme/start"' in html
    assert "Sign in with Acme" in html
    assert "Sign in with GitHub" in html
    assert 'name="next" value="/drafts"' in html


def test_a_second_factor_still_applies(site: Site) -> None:
    site.auth.add_second_factor(Marked("ann"))
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303  # ann's account is made
        client.cookies.clear()
        response = sign_in_with(client, next="/drafts")
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/2fa"
        assert whoami(client) == ""  # waiting on the second factor


def test_a_disabled_account_is_refused(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
    with site.db.session():
        User.objects.filter(username="ann").update(is_active=False)
    with TestClient(site.app, enforce_csrf=True) as client:
        response = sign_in_with(client)
        assert response.status_code == 403
        assert "This account is disabled" in response.text
        assert whoami(client) == ""


def test_sign_ups_are_throttled(tmp_path: Path, db_url: str, provider: OpenIDProvider) -> None:
    site = make_oidc_site(tmp_path, db_url, provider, max_signups_per_address=1)
    try:
        with TestClient(site.app, enforce_csrf=True) as client:
            assert sign_in_with(client).status_code == 303
        provider.account = Account(sub="acme-0002", email="bob@example.org")
        with TestClient(site.app, enforce_csrf=True) as client:
            response = sign_in_with(client)
            assert response.status_code == 429
            assert "Try again in" in response.text
            assert response.headers["retry-after"]
        with site.db.session():
            assert User.objects.count() == 1
    finally:
        site.db.drop_all()
        site.db.dispose()


def test_the_session_id_changes_at_sign_in(site: Site) -> None:
    site.user("bob", email="bob@example.org")
    with TestClient(site.app, enforce_csrf=True) as client:
        site.login(client, "bob")
        planted = client.cookies["session"]  # a fixed session an attacker might know
        assert sign_in_with(client, page="/auth/identities").status_code == 303
        assert whoami(client) == "ann"
        assert client.cookies["session"] != planted
    with TestClient(site.app, cookies={"session": planted}) as other:
        assert whoami(other) != "ann"
