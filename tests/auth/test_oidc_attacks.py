"""Sign-ins through a provider that must fail, each with a clear 400 page and nobody signed
in: a forged or replayed ``state``, a replayed code, a wrong ``nonce``, an expired ID
token, a wrong issuer or audience, a key the provider does not publish, the provider's
error, and unverified addresses that would take over an account. On every engine.

The attack cases, and what stops each:

* forged ``state`` (login CSRF, or a code stolen from someone else): the flow is looked up
  by ``state`` in this browser's session; none there, nothing happens (400);
* a replayed callback URL: the flow was removed from the session when it was first used;
* a replayed code with a fresh ``state``: the provider refuses a used code, and the PKCE
  verifier of the new flow does not match the old challenge anyway;
* a flow begun in one browser, finished in another (an attacker's code in the victim's
  browser): the other browser's session has no such flow;
* an ID token with a wrong ``nonce`` (replayed token), expired, for another audience,
  from another issuer, or signed with another key: refused by the ID-token check;
* an unverified address equal to an account's: never links (409, sign in with the
  password and link from the account page); a verified one links only to an account
  whose owner verified it too (no pre-hijacked accounts);
* a cross-site page starting a sign-in: the start is a POST with the CSRF token;
* an open redirect through ``next``: only paths on the site are followed.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from authsite import Site
from oidcsite import consent, provider, sign_in_with, site, start, whoami

from kettle.auth import User
from kettle.auth.oidc import identity_model_for
from kettle.auth.oidc.devprovider import Account, OpenIDProvider
from kettle.testing import TestClient

__all__ = ["provider", "site"]  # the fixtures, used by name
UserIdentity = identity_model_for(User)


def refused(response: object, *phrases: str, status: int = 400) -> None:
    """A clear page with ``status`` naming what went wrong (never a 500)."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "<h1>" in text
    assert 'role="alert"' in text
    for phrase in phrases:
        assert phrase in text, text


def nobody(site: Site, client: TestClient) -> None:
    """Nobody is signed in, and no account or link was made."""
    assert whoami(client) == ""
    with site.db.session():
        assert UserIdentity.objects.count() == 0
        assert User.objects.filter(username="ann").count() == 0


def test_a_forged_state_is_refused(site: Site, provider: OpenIDProvider) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        callback = consent(start(client))
        forged = callback.replace("state=", "state=forged")
        refused(client.get(forged), "This sign-in link is not valid")
        assert ("POST", "/token") not in provider.log  # the code was never even used
        nobody(site, client)


def test_a_callback_without_state_is_refused(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        refused(client.get("/auth/oidc/acme/callback?code=abc"), "not valid")
        refused(client.get("/auth/oidc/acme/callback"), "not valid")


def test_a_replayed_callback_is_refused(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        callback = consent(start(client))
        assert client.get(callback).status_code == 303
        client.post("/auth/logout", data={"csrf_token": _token(client)})
        refused(client.get(callback), "used already")
        assert whoami(client) == ""


def test_a_replayed_code_is_refused(site: Site, provider: OpenIDProvider) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        callback = consent(start(client))
        code = parse_qs(urlsplit(callback).query)["code"][0]
        assert client.get(callback).status_code == 303
        client.post("/auth/logout", data={"csrf_token": _token(client)})
        fresh = consent(start(client))  # a new flow, its own state
        state = parse_qs(urlsplit(fresh).query)["state"][0]
        response = client.get(f"/auth/oidc/acme/callback?code={code}&state={state}")
        refused(response, "refused the sign-in code", "invalid_grant")
        assert "unknown or used code" in provider.refusals
        assert whoami(client) == ""


def test_a_flow_finished_in_another_browser_is_refused(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as attacker:
        callback = consent(start(attacker))
    with TestClient(site.app, enforce_csrf=True) as victim:
        refused(victim.get(callback), "not started in this browser")
        nobody(site, victim)


def test_a_flow_for_another_provider_is_refused(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        callback = consent(start(client, "acme"))
        response = client.get(callback.replace("/oidc/acme/", "/oidc/github/"))
        refused(response, "not valid")
        nobody(site, client)


@pytest.mark.parametrize(
    ("knob", "value", "phrase"),
    [
        ("nonce", "a-nonce-from-another-sign-in", "not issued for this sign-in: nonce"),
        ("expired", True, "expired"),
        ("audience", "another-client", "not issued for this sign-in: aud"),
        ("issuer", "https://impostor.example", "not issued for this sign-in: iss"),
        ("unpublished_key", True, "a key the provider does not publish"),
    ],
)
def test_a_bad_id_token_is_refused(
    site: Site, provider: OpenIDProvider, knob: str, value: object, phrase: str
) -> None:
    setattr(provider.knobs, knob, value)
    with TestClient(site.app, enforce_csrf=True) as client:
        refused(sign_in_with(client), phrase, "Acme sign-in refused")
        nobody(site, client)


def test_the_providers_error_is_shown(site: Site, provider: OpenIDProvider) -> None:
    provider.knobs.error = "access_denied"
    with TestClient(site.app, enforce_csrf=True) as client:
        refused(sign_in_with(client), "Acme did not sign you in", "access_denied")
        nobody(site, client)


def test_a_callback_without_code_is_refused(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        callback = consent(start(client))
        state = parse_qs(urlsplit(callback).query)["state"][0]
        refused(client.get(f"/auth/oidc/acme/callback?state={state}"), "carries no code")


def test_an_unverified_address_never_links(site: Site, provider: OpenIDProvider) -> None:
    site.user("ann", email="ann@example.org", email_verified=True)
    provider.account = Account(email_verified=False, preferred_username="mallory")
    with TestClient(site.app, enforce_csrf=True) as client:
        response = sign_in_with(client)
        refused(response, "Sign in with your password first", "link Acme", status=409)
        assert whoami(client) == ""
    with site.db.session():
        assert UserIdentity.objects.count() == 0
        assert User.objects.count() == 1


def test_a_verified_address_does_not_link_an_unverified_account(
    site: Site, provider: OpenIDProvider
) -> None:
    site.user("ann", email="ANN@example.org", email_verified=False)  # a pre-hijacked account?
    with TestClient(site.app, enforce_csrf=True) as client:
        refused(sign_in_with(client), "Sign in with your password first", status=409)
        assert whoami(client) == ""
    with site.db.session():
        assert UserIdentity.objects.count() == 0


def test_verified_addresses_on_both_sides_link(site: Site, provider: OpenIDProvider) -> None:
    site.user("annie", email="Ann@Example.org", email_verified=True)
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
        assert whoami(client) == "annie"
    with site.db.session():
        assert User.objects.count() == 1
        assert UserIdentity.objects.get().user.username == "annie"


def test_github_unverified_address_never_links(site: Site, provider: OpenIDProvider) -> None:
    site.user("ann", email="ann@example.org", email_verified=True)
    provider.account = Account(email_verified=False)
    with TestClient(site.app, enforce_csrf=True) as client:
        refused(sign_in_with(client, "github"), "Sign in with your password first", status=409)
        assert whoami(client) == ""


def test_a_sign_in_starts_only_from_a_form_of_the_site(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        assert client.get("/auth/oidc/acme/start").status_code == 405
        client.get("/auth/login")
        assert client.post("/auth/oidc/acme/start", data={}).status_code == 403
        assert client.post("/auth/oidc/nope/start", data={}).status_code in (403, 404)


def test_unknown_providers_and_purposes(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        token = _token(client)
        response = client.post("/auth/oidc/nope/start", data={"csrf_token": token})
        assert response.status_code == 404
        assert "No sign-in provider is named 'nope'" in response.text
        response = client.post(
            "/auth/oidc/acme/start", data={"csrf_token": token, "purpose": "steal"}
        )
        assert response.status_code == 400
        assert client.get("/auth/oidc/nope/callback?state=x").status_code == 404


def test_next_never_leaves_the_site(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        response = sign_in_with(client, next="//evil.example/")
        assert response.status_code == 303
        assert response.headers["location"] == "/"


def test_a_provider_that_cannot_be_reached(site: Site, provider: OpenIDProvider) -> None:
    down = provider.oidc("down")
    down.discovery_url = "http://127.0.0.1:9/.well-known/openid-configuration"
    site.app.state.oidc.providers["down"] = down
    with TestClient(site.app, enforce_csrf=True) as client:
        token = _token(client)
        response = client.post("/auth/oidc/down/start", data={"csrf_token": token})
        refused(response, "cannot be reached", status=502)


def _token(client: TestClient) -> str:
    from htmlforms import csrf_from

    page = client.get("/auth/login")
    if page.status_code != 200:
        page = client.get("/auth/identities")
    return csrf_from(page.text)
