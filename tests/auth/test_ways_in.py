"""One rule for "a way in" (``auth.aways_in``): a password, linked providers and passkeys
all count, so neither unlinking a provider nor removing a passkey can lock an account
out; and mandatory e-mail verification holds on every sign-in path. On SQLite,
PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site
from oidcsite import consent, make_oidc_site, provider, sign_in_with, start, whoami
from softkey import SoftKey
from test_passkeys_api import options, register

from htmlforms import csrf_from
from kettle.auth import User, get_user
from kettle.auth.models import AbstractUser
from kettle.auth.oidc import identity_model_for
from kettle.auth.oidc.devprovider import Account, OpenIDProvider
from kettle.auth.passkeys import Passkeys
from kettle.requests import Request
from kettle.testing import TestClient

__all__ = ["provider"]  # the fixture, used by name
UserIdentity = identity_model_for(User)


@pytest.fixture
def both(tmp_path: Path, db_url: str, provider: OpenIDProvider) -> Iterator[Site]:
    """A site with sign-in providers and passkeys, on each engine in turn."""
    built = _site(tmp_path, db_url, provider)
    yield built
    built.db.drop_all()
    built.db.dispose()


def _site(tmp_path: Path, url: str, provider: OpenIDProvider, **options: object) -> Site:
    built = make_oidc_site(tmp_path, url, provider, **options)
    Passkeys(built.auth)

    @built.app.get("/ways")
    async def ways(request: Request) -> list[str]:
        user = get_user(request)
        assert isinstance(user, AbstractUser)
        return await built.auth.aways_in(user)

    built.db.create_all()  # the passkey table
    return built


def _passwordless_ann(site: Site, client: TestClient) -> tuple[int, int]:
    """ann with a passkey and acme linked, then her password made unusable; signed in
    again with the passkey (with a passkey, acme would ask for it as a second factor).
    ``(identity id, passkey id)``."""
    key = SoftKey()
    site.user("ann")
    register(site, client, key, "phone")
    link = start(client, page="/auth/identities", purpose="link")
    assert client.get(consent(link)).status_code == 303
    with site.db.session():
        ann = User.objects.get(username="ann")
        ann.set_unusable_password()
        ann.save()
        identity = UserIdentity.objects.get()
        passkey = site.app.state.passkeys.model.objects.get()
    asked = options(client, "/auth/passkeys/login/options")  # the old session ended
    assert client.post("/auth/passkeys/login", json={"credential": key.get(asked)}).is_success
    assert whoami(client) == "ann"
    return identity.id, passkey.id


def _ways(client: TestClient) -> list[str]:
    """The signed-in user's ways in, as ``auth.aways_in`` counts them."""
    ways: list[str] = client.get("/ways").json()
    return sorted(ways)


def _unlink(client: TestClient, identity: int) -> object:
    token = csrf_from(client.get("/auth/identities").text)
    return client.post(f"/auth/identities/{identity}/unlink", data={"csrf_token": token})


def _remove(client: TestClient, passkey: int) -> object:
    token = csrf_from(client.get("/auth/passkeys").text)
    return client.post(f"/auth/passkeys/{passkey}/delete", data={"csrf_token": token})


def test_every_battery_counts_its_ways_in(both: Site) -> None:
    with TestClient(both.app) as client:
        identity, passkey = _passwordless_ann(both, client)
        assert _ways(client) == [f"identity:{identity}", f"passkey:{passkey}"]


def test_a_passkey_lets_the_last_provider_go_and_then_stays(both: Site) -> None:
    with TestClient(both.app) as client:
        identity, passkey = _passwordless_ann(both, client)
        unlinked = _unlink(client, identity)
        assert unlinked.status_code == 303  # type: ignore[attr-defined]
        kept = _remove(client, passkey)
        assert kept.status_code == 409  # type: ignore[attr-defined]
        assert "phone is your only way to sign in" in kept.text  # type: ignore[attr-defined]
        assert _ways(client) == [f"passkey:{passkey}"]


def test_a_provider_lets_the_last_passkey_go_and_then_stays(both: Site) -> None:
    with TestClient(both.app) as client:
        identity, passkey = _passwordless_ann(both, client)
        assert _remove(client, passkey).status_code == 303  # type: ignore[attr-defined]
        kept = _unlink(client, identity)
        assert kept.status_code == 409  # type: ignore[attr-defined]
        assert "your only way to sign in" in kept.text  # type: ignore[attr-defined]
        assert "add a passkey" in kept.text  # type: ignore[attr-defined]
        assert _ways(client) == [f"identity:{identity}"]


# --- mandatory verification, whatever the way in --------------------------------------------
@pytest.fixture
def mandatory(tmp_path: Path, db_url: str, provider: OpenIDProvider) -> Iterator[Site]:
    """``both`` with ``AuthOptions(email_verification="mandatory")``."""
    built = _site(tmp_path, db_url, provider, email_verification="mandatory")
    yield built
    built.db.drop_all()
    built.db.dispose()


def _verified(site: Site, username: str = "ann") -> bool:
    with site.db.session():
        return User.objects.get(username=username).email_verified


def test_a_passkey_does_not_skip_mandatory_verification(mandatory: Site) -> None:
    key = SoftKey()
    mandatory.user("ann", email_verified=True)
    with TestClient(mandatory.app) as client:
        register(mandatory, client, key)
        client.post("/auth/logout")
    with mandatory.db.session():
        User.objects.filter(username="ann").update(email_verified=False)
    with TestClient(mandatory.app) as client:
        asked = options(client, "/auth/passkeys/login/options")
        response = client.post("/auth/passkeys/login", json={"credential": key.get(asked)})
        assert response.status_code == 403, response.text
        assert "Verify your e-mail address first" in response.json()["detail"]
        assert whoami(client) == ""


def test_a_provider_without_a_verified_address_does_not_skip_it(
    mandatory: Site, provider: OpenIDProvider
) -> None:
    provider.account = Account(email="ann@example.org", email_verified=False)
    with TestClient(mandatory.app) as client:
        response = sign_in_with(client)  # a new account: the link is mailed, no sign-in
        assert response.status_code == 200, response.text
        assert "ann@example.org" in response.text
        assert len(mandatory.mail.outbox) == 1
        assert whoami(client) == ""
        again = sign_in_with(client)  # the linked account, still unverified
        assert again.status_code == 403
        assert "Verify your e-mail address first" in again.text
        assert whoami(client) == ""
    assert not _verified(mandatory)


def test_a_provider_that_verified_the_address_verifies_it_here(
    mandatory: Site, provider: OpenIDProvider
) -> None:
    provider.account = Account(email="ann@example.org", email_verified=False)
    with TestClient(mandatory.app) as client:
        assert sign_in_with(client).status_code == 200  # not signed in: unverified
    provider.account = Account(email="ann@example.org", email_verified=True)
    with TestClient(mandatory.app) as client:
        assert sign_in_with(client).status_code == 303
        assert whoami(client) == "ann"
    assert _verified(mandatory)


def test_a_verified_sign_up_signs_in_at_once(mandatory: Site) -> None:
    with TestClient(mandatory.app) as client:
        assert sign_in_with(client).status_code == 303  # the provider verified it
        assert whoami(client) == "ann"
    assert _verified(mandatory)
    assert mandatory.mail.outbox == []
