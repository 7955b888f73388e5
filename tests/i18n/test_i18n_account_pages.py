"""The account pages added with two-factor authentication, passkeys and e-mail
verification, in French, German and Spanish: translated text, and none of the English page's
sentences left over. On each database engine."""

# ruff: noqa: RUF001 - French is written with typographic apostrophes, as shipped.

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from i18nadmin import PASSWORD, Site, make_site, seed

from htmlforms import csrf_from, words_of
from kettle.auth.passkeys import Passkeys
from kettle.auth.twofactor import TwoFactor
from kettle.testing import TestClient
from kettle.timezones import zone_names

PAGES = ("/auth/account", "/auth/2fa/setup", "/auth/passkeys", "/auth/email", "/auth/time-zone")
#: Texts the same in English and the other language: the user's data, the time zones of
#: the list, and words German shares with English.
SAME = {"root", "root@example.org", "Passkeys", "Name", *zone_names()}


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> Iterator[TestClient]:
    site: Site = make_site(tmp_path, db_url)
    TwoFactor(site.app.state.auth)
    Passkeys(site.app.state.auth)
    site.db.drop_all()
    seed(site)
    try:
        with TestClient(site.app) as client:
            page = client.get("/auth/login")
            signed_in = client.post(
                "/auth/login",
                data={"username": "root", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
            )
            assert signed_in.status_code == 303, signed_in.text
            yield client
    finally:
        site.db.drop_all()
        site.db.dispose()


@pytest.mark.parametrize("language", ["fr", "de", "es"])
def test_no_english_is_left_on_the_new_pages(client: TestClient, language: str) -> None:
    for path in PAGES:
        english = client.get(path)
        translated = client.get(f"/{language}{path}")
        assert english.status_code == translated.status_code == 200, path
        assert translated.headers["content-language"] == language
        left = (words_of(english.text) & words_of(translated.text)) - SAME
        assert left == set(), f"/{language}{path} still says, in English: {sorted(left)}"


def test_the_new_pages_in_french(client: TestClient) -> None:
    account = client.get("/fr/auth/account").text
    for french in (
        "Votre compte",
        "Connecté en tant que <strong>root</strong>.",
        'aria-label="Paramètres du compte"',
        "Authentification à deux facteurs",
        "Un code d’une application de votre téléphone, après votre mot de passe.",
        "Clés d’accès",
        "Fuseau horaire",
        "Se déconnecter",
    ):
        assert french in account, french
    setup = client.get("/fr/auth/2fa/setup").text
    for french in (
        "<h1>Configurer l’authentification à deux facteurs</h1>",
        "Impossible de le scanner ? Saisissez plutôt cette clé dans l’application :",
        '<label for="id_code">Code à 6 chiffres</label>',
        "Activer",
    ):
        assert french in setup, french
    wrong = client.post(
        "/fr/auth/2fa/setup", data={"code": "12", "csrf_token": csrf_from(setup)}
    )  # a flash-free error: the form again, with the problem in French
    assert wrong.status_code == 422
    assert "Un code compte 6 chiffres, comme 492039." in wrong.text
    passkeys = client.get("/fr/auth/passkeys").text
    for french in (
        "<h1>Vos clés d’accès</h1>",
        "Vous n’avez pas encore de clé d’accès.",
        "Où elle se trouve, par exemple « iPhone » ou « portable du bureau ».",
    ):
        assert french in passkeys, french


def test_the_new_pages_in_german(client: TestClient) -> None:
    account = client.get("/de/auth/account").text
    for german in ("Ihr Konto", "Angemeldet als <strong>root</strong>.", "Zeitzone"):
        assert german in account, german
    setup = client.get("/de/auth/2fa/setup").text
    assert "<h1>Zwei-Faktor-Authentifizierung einrichten</h1>" in setup
    assert "Scannen Sie diesen QR-Code mit einer Authenticator-App" in setup
    passkeys = client.get("/de/auth/passkeys").text
    assert "<h1>Ihre Passkeys</h1>" in passkeys
    assert "Passkey hinzufügen" in passkeys
    zone = client.get("/de/auth/time-zone")
    saved = client.post(
        "/de/auth/time-zone",
        data={"time_zone": "Europe/Berlin", "csrf_token": csrf_from(zone.text)},
        follow_redirects=True,
    )
    assert "Uhrzeiten werden jetzt in Europe/Berlin angezeigt." in saved.text


@pytest.mark.parametrize(
    ("language", "words"),
    [("fr", ("actif", "jamais", "révoqué le")), ("es", ("activo", "nunca", "revocado el"))],
)
def test_the_token_states_are_translated(
    client: TestClient, language: str, words: tuple[str, str, str]
) -> None:
    active, never, revoked = words
    page = client.get(f"/{language}/auth/tokens")
    made = client.post(
        f"/{language}/auth/tokens",
        data={"name": "deploy", "lifetime": "30", "csrf_token": csrf_from(page.text)},
    )
    assert made.status_code == 201, made.text
    assert f"<td>{active}</td>" in made.text
    assert f"<td>{never}</td>" in made.text  # last used
    revoke = re.findall(r'action="([^"]+/revoke)"', made.text)[0]
    done = client.post(revoke, data={"csrf_token": csrf_from(made.text)}, follow_redirects=True)
    assert f"<td>{revoked} 20" in done.text
    assert ">active<" not in done.text
    assert ">revoked" not in done.text
