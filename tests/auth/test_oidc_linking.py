"""Linking providers to an account and unlinking them: only by the signed-in owner, never
leaving an account with no way in; the links shown on the account page and in the admin.
On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from authsite import Site
from oidcsite import consent, provider, sign_in_with, site, start, whoami

from htmlforms import csrf_from
from kettle.admin import AdminSite, ModelAdmin
from kettle.auth import User
from kettle.auth.oidc import identity_model_for
from kettle.auth.oidc.admin import IdentityAdmin, identity_inline
from kettle.auth.oidc.devprovider import Account, OpenIDProvider
from kettle.testing import TestClient

__all__ = ["provider", "site"]  # the fixtures, used by name
UserIdentity = identity_model_for(User)


def link(client: TestClient, name: str = "acme") -> object:
    """Press "Link <name>" on the account page and come back from the provider."""
    return client.get(consent(start(client, name, page="/auth/identities", purpose="link")))


def linked(site: Site, username: str) -> list[str]:
    with site.db.session():
        query = UserIdentity.objects.filter(user__username=username).order_by("provider")
        return [identity.provider for identity in query]


def test_a_signed_in_user_links_a_provider(site: Site, provider: OpenIDProvider) -> None:
    site.user("bob", email="bob@example.org")  # unverified: linking needs no address
    provider.account = Account(email="someone@else.example")
    with TestClient(site.app, enforce_csrf=True) as client:
        site.login(client, "bob")
        response = link(client)
        assert response.status_code == 303  # type: ignore[attr-defined]
        assert response.headers["location"] == "/auth/identities"  # type: ignore[attr-defined]
        page = client.get("/auth/identities").text
        assert "Your Acme account is now linked." in page
        assert "Acme" in page
        assert "someone@else.example" in page
    assert linked(site, "bob") == ["acme"]
    with TestClient(site.app, enforce_csrf=True) as client:  # and now it signs bob in
        assert sign_in_with(client).status_code == 303
        assert whoami(client) == "bob"


def test_linking_needs_a_signed_in_user(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        token = csrf_from(client.get("/auth/login").text)
        data = {"csrf_token": token, "purpose": "link"}
        response = client.post("/auth/oidc/acme/start", data=data)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/auth/login?next=")
        assert client.get("/auth/identities").status_code in (302, 303, 401)


def test_a_link_finished_after_signing_out_is_refused(site: Site) -> None:
    site.user("bob")
    with TestClient(site.app, enforce_csrf=True) as client:
        site.login(client, "bob")
        callback = consent(start(client, page="/auth/identities", purpose="link"))
        client.post(
            "/auth/logout", data={"csrf_token": csrf_from(client.get("/auth/identities").text)}
        )
        response = client.get(callback)
        assert response.status_code == 400
    assert linked(site, "bob") == []


def test_an_account_linked_elsewhere_is_not_moved(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303  # ann signs up with acme
    site.user("bob")
    with TestClient(site.app, enforce_csrf=True) as client:
        site.login(client, "bob")
        response = link(client)
        assert response.status_code == 409  # type: ignore[attr-defined]
        assert "already signs in another account" in response.text  # type: ignore[attr-defined]
    assert linked(site, "bob") == []
    assert linked(site, "ann") == ["acme"]


def test_unlinking_with_a_password_left(site: Site) -> None:
    site.user("bob")
    with TestClient(site.app, enforce_csrf=True) as client:
        site.login(client, "bob")
        link(client)
        page = client.get("/auth/identities").text
        with site.db.session():
            identity = UserIdentity.objects.get()
        url = f"/auth/identities/{identity.id}/unlink"
        response = client.post(url, data={"csrf_token": csrf_from(page)})
        assert response.status_code == 303
        assert "Acme was unlinked" in client.get("/auth/identities").text
    assert linked(site, "bob") == []


def test_the_last_way_in_stays(site: Site, provider: OpenIDProvider) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303  # ann: no password, acme only
        with site.db.session():
            acme = UserIdentity.objects.get()
        page = client.get("/auth/identities").text
        url = f"/auth/identities/{acme.id}/unlink"
        response = client.post(url, data={"csrf_token": csrf_from(page)})
        assert response.status_code == 409
        assert "your only way to sign in" in response.text
        assert linked(site, "ann") == ["acme"]
        # With GitHub linked too, acme may go.
        provider.account = Account(email="ann@example.org")
        assert link(client, "github").status_code == 303  # type: ignore[attr-defined]
        page = client.get("/auth/identities").text
        response = client.post(url, data={"csrf_token": csrf_from(page)})
        assert response.status_code == 303
    assert linked(site, "ann") == ["github"]


def test_nobody_unlinks_someone_elses(site: Site) -> None:
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
    with site.db.session():
        acme = UserIdentity.objects.get()
    site.user("bob")
    with TestClient(site.app, enforce_csrf=True) as client:
        site.login(client, "bob")
        page = client.get("/auth/identities").text
        url = f"/auth/identities/{acme.id}/unlink"
        assert client.post(url, data={"csrf_token": csrf_from(page)}).status_code == 404
        assert client.post(url, data={}).status_code == 403  # no CSRF token
    assert linked(site, "ann") == ["acme"]


def test_the_admin_shows_the_links(site: Site) -> None:
    admin = AdminSite(site.app)

    class UserAdmin(ModelAdmin):
        list_display = ["username", "email"]
        inlines = [identity_inline(User)]

    admin.register(User, UserAdmin)
    admin.register(UserIdentity, IdentityAdmin)
    site.user("root", is_staff=True, is_superuser=True)
    with TestClient(site.app, enforce_csrf=True) as client:
        assert sign_in_with(client).status_code == 303
    with site.db.session():
        ann = User.objects.get(username="ann")
    with TestClient(site.app, enforce_csrf=True) as client:
        site.login(client, "root")
        listed = client.get("/admin/auth_user_identity/")
        assert listed.status_code == 200, listed.text
        for shown in ("ann", "acme", "acme-0001", "ann@example.org"):
            assert shown in listed.text
        assert client.get("/admin/auth_user_identity/add").status_code in (403, 404)
        user_page = client.get(f"/admin/auth_user/{ann.id}/change")
        assert user_page.status_code == 200, user_page.text
        assert "acme-0001" in user_page.text
