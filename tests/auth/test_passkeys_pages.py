"""The passkey pages on each engine: the account's list, rename and remove (CSRF, another
user's passkey a 404, never the last way in), the login page's button, and the options'
configuration errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authsite import PASSWORD, Site, make_site
from softkey import SoftKey
from test_passkeys_api import register

from htmlforms import csrf_from
from kettle.auth import User
from kettle.auth.passkeys import PasskeyOptions, Passkeys
from kettle.exceptions import ConfigurationError
from kettle.testing import TestClient


@pytest.fixture
def keyed(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """A site with passkeys on each engine; ann and bob each have one."""
    built = make_site(tmp_path, db_url)
    Passkeys(built.auth)
    built.db.drop_all()
    built.db.create_all()
    for name in ("ann", "bob"):
        built.user(name)
        with TestClient(built.app) as client:
            built.login(client, name)
            register(built, client, SoftKey(), f"{name}'s phone")
    yield built
    built.db.drop_all()
    built.db.dispose()


def ids(site: Site) -> dict[str, int]:
    with site.db.session():
        model = site.app.state.passkeys.model
        return {passkey.name: passkey.id for passkey in model.objects.all()}


def signed_in_client(site: Site, client: TestClient, name: str = "ann") -> str:
    """Sign ``name`` in, with a new passkey "laptop" for their old one; the CSRF token."""
    with site.db.session():
        user = User.objects.get(username=name)
        site.app.state.passkeys.model.objects.filter(user_id=user.id).delete()
    site.login(client, name)
    register(site, client, SoftKey(), "laptop")
    return csrf_from(client.get("/auth/passkeys").text)


def test_the_page_lists_ones_own_passkeys(keyed: Site) -> None:
    with TestClient(keyed.app) as client:
        assert client.get("/auth/passkeys").status_code == 401
        signed_in_client(keyed, client)
        page = client.get("/auth/passkeys")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "laptop" in page.text
        assert "last used never" in page.text
        assert "bob&#39;s phone" not in page.text
        assert 'data-passkey="register"' in page.text
        assert "passkeys.js" in page.text
        script = client.get("/auth/passkeys/static/passkeys.js")
        assert script.status_code == 200
        assert "PublicKeyCredential" in script.text


def test_renaming_and_removing(keyed: Site) -> None:
    with TestClient(keyed.app) as client:
        token = signed_in_client(keyed, client)
        laptop = ids(keyed)["laptop"]
        sent = client.post(
            f"/auth/passkeys/{laptop}/rename", data={"name": " Old laptop ", "csrf_token": token}
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == "/auth/passkeys"
        assert "The passkey is now called Old laptop." in client.get("/auth/passkeys").text
        bad = client.post(f"/auth/passkeys/{laptop}/rename", data={"name": "", "csrf_token": token})
        assert bad.status_code == 422
        assert "The new name of Old laptop: This field is required." in bad.text
        gone = client.post(f"/auth/passkeys/{laptop}/delete", data={"csrf_token": token})
        assert gone.status_code == 303
        assert "The passkey Old laptop was removed." in client.get("/auth/passkeys").text
    assert "Old laptop" not in ids(keyed)


def test_another_users_passkey_is_a_404(keyed: Site) -> None:
    bobs = ids(keyed)["bob's phone"]
    with TestClient(keyed.app) as client:
        token = signed_in_client(keyed, client)
        for action in ("rename", "delete"):
            response = client.post(
                f"/auth/passkeys/{bobs}/{action}", data={"name": "mine", "csrf_token": token}
            )
            assert response.status_code == 404
            assert f"You have no passkey with id {bobs}" in response.json()["detail"]
        assert (
            client.post("/auth/passkeys/99999/delete", data={"csrf_token": token}).status_code
            == 404
        )
    assert "bob's phone" in ids(keyed)


def test_the_forms_need_the_csrf_token(keyed: Site) -> None:
    with TestClient(keyed.app, enforce_csrf=True) as client:
        token = signed_in_client(keyed, client)
        laptop = ids(keyed)["laptop"]
        assert client.post(f"/auth/passkeys/{laptop}/delete").status_code == 403
        assert client.post(f"/auth/passkeys/{laptop}/rename", data={"name": "x"}).status_code == 403
        assert token
    assert "laptop" in ids(keyed)


def test_the_last_passkey_of_an_account_without_password_stays(keyed: Site) -> None:
    key = SoftKey()
    with TestClient(keyed.app) as client:
        signed_in_client(keyed, client)
        register(keyed, client, key, "phone")
        with keyed.db.session():
            ann = User.objects.get(username="ann")
            ann.set_unusable_password()
            ann.save()
        asked = client.post("/auth/passkeys/login/options", json={}).json()["publicKey"]
        signed = client.post("/auth/passkeys/login", json={"credential": key.get(asked)})
        assert signed.status_code == 200, signed.text
        token = csrf_from(client.get("/auth/passkeys").text)
        mine = ids(keyed)
        gone = client.post(f"/auth/passkeys/{mine['laptop']}/delete", data={"csrf_token": token})
        assert gone.status_code == 303
        kept = client.post(f"/auth/passkeys/{mine['phone']}/delete", data={"csrf_token": token})
        assert kept.status_code == 409
        assert "phone is your only way to sign in" in kept.text
    assert "phone" in ids(keyed)


def test_the_login_page_offers_passkeys_only_when_installed(tmp_path: Path) -> None:
    plain = make_site(tmp_path, f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    with TestClient(plain.app) as client:
        assert "passkey" not in client.get("/auth/login").text
    keyed = make_site(tmp_path, f"sqlite:///{tmp_path / 'keyed.sqlite3'}")
    Passkeys(keyed.auth)
    with TestClient(keyed.app) as client:
        page = client.get("/auth/login?next=/drafts").text
    assert 'data-passkey="login"' in page
    assert 'data-next="/drafts"' in page
    assert "Sign in with a passkey" in page
    assert " hidden>" in page


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"max_per_user": 0}, "lets nobody register"),
        ({"origins": ["https://example.org"]}, "needs rp_id too"),
        ({"rp_id": "https://example.org"}, "is not a domain name"),
        ({"rp_id": "Example.org"}, "is not a domain name"),
        ({"rp_id": "127.0.0.1"}, "is not a domain name"),
        ({"rp_id": "example.org", "origins": ["example.org"]}, "is not an origin"),
        ({"rp_id": "example.org", "origins": ["https://evil.example"]}, "not on 'example.org'"),
    ],
)
def test_options_that_cannot_work_are_refused(
    tmp_path: Path, options: dict[str, Any], words: str
) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'options.sqlite3'}")
    with pytest.raises(ConfigurationError, match=words):
        Passkeys(site.auth, options=PasskeyOptions(**options))


def test_passkeys_are_installed_once(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'twice.sqlite3'}")
    Passkeys(site.auth)
    with pytest.raises(ConfigurationError, match="installed on this app already"):
        Passkeys(site.auth)


def test_a_configured_relying_party(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'rp.sqlite3'}")
    options = PasskeyOptions(rp_id="testserver", rp_name="Tea", origins=["http://testserver"])
    Passkeys(site.auth, options=options)
    site.db.create_all()
    with TestClient(site.app) as client:
        asked = client.post("/auth/passkeys/login/options", json={}).json()["publicKey"]
    assert asked["rpId"] == "testserver"


def test_an_ip_address_is_no_relying_party(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'ip.sqlite3'}")
    Passkeys(site.auth)
    site.db.create_all()
    with TestClient(site.app, base_url="http://127.0.0.1") as client:
        response = client.post("/auth/passkeys/login/options", json={})
    assert response.status_code == 400
    assert "Open the site by its name" in response.json()["detail"]


class AlwaysThere:
    """A second factor every user has (the passkey page links to it)."""

    name = "carrier"
    label = "Carrier pigeon"

    async def aenrolled(self, user: object) -> bool:
        return True


def test_the_second_factor_page_links_the_other_factors(keyed: Site) -> None:
    keyed.auth.add_second_factor(AlwaysThere())
    with TestClient(keyed.app) as client:
        page = client.get("/auth/login")
        form = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        client.post("/auth/login", data=form)
        shown = client.get("/auth/2fa/passkey")
    assert shown.status_code == 200
    assert 'href="/auth/2fa/carrier">Carrier pigeon</a>' in shown.text
    assert 'data-passkey="second-factor"' in shown.text
