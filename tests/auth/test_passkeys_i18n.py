"""Passkeys in French, German and Spanish, on each engine: the pages (with a passkey, the
sign-in button and the second-factor page), the sentences passkeys.js shows (data-message-*
attributes), the JSON endpoints' refusals, and the script's redirects, which keep the
page's language."""

# ruff: noqa: RUF001 - French is written with typographic apostrophes, as shipped.

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site
from softkey import SoftKey
from test_passkeys_api import options, register
from twofactorsite import enrol, make_two_factor_site, password

from htmlforms import words_of
from kettle.auth.passkeys import Passkeys
from kettle.i18n import I18n
from kettle.testing import TestClient

LANGUAGES = ("fr", "de", "es")
_MESSAGE = re.compile(r'data-message-([a-z]+)="([^"]*)"')


#: ann's passkey, "Work laptop" (made afresh for each test by the ``site`` fixture).
KEY: dict[str, SoftKey] = {}


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """Passkeys, an authenticator app and four languages; ann has a passkey and the app."""
    built, _ = make_two_factor_site(tmp_path, db_url)
    Passkeys(built.auth)
    I18n(built.app, languages=["en", *LANGUAGES])
    built.db.drop_all()
    built.db.create_all()
    built.user("ann")
    KEY["ann"] = SoftKey()
    with TestClient(built.app) as client:
        built.login(client)
        register(built, client, KEY["ann"], "Work laptop")
        enrol(client)
    yield built
    built.db.drop_all()
    built.db.dispose()


def token_of(page: str) -> str:
    """The CSRF token the page gives its passkey script."""
    return page.split('data-csrf="')[1].split('"')[0]


def sign_in(client: TestClient, key: SoftKey, prefix: str = "") -> str:
    """Sign in with ``key`` alone, as the login page's script does; where the script goes."""
    token = token_of(client.get(f"{prefix}/auth/login").text)
    asked = options(client, f"{prefix}/auth/passkeys/login/options", {}, token)
    answer = {"credential": key.get(asked), "next": ""}
    done = client.post(
        f"{prefix}/auth/passkeys/login", json=answer, headers={"x-csrf-token": token}
    )
    assert done.status_code == 200, done.text
    redirect: str = done.json()["redirect"]
    return redirect


def messages(page: str) -> dict[str, str]:
    """The data-message-* sentences of a page's passkey element (for passkeys.js)."""
    return {name: html.unescape(text) for name, text in _MESSAGE.findall(page)}


def pages(site: Site, prefix: str) -> dict[str, str]:
    """The passkey pages in the language of ``prefix`` ("" for English): ann's list, the
    login page, and the second-factor pages (passkey, authenticator app) after her
    password."""
    found = {}
    with TestClient(site.app) as client:
        found["login"] = client.get(f"{prefix}/auth/login").text
        sign_in(client, KEY["ann"])
        found["list"] = client.get(f"{prefix}/auth/passkeys").text
    with TestClient(site.app) as client:
        assert password(client).status_code == 303
        for path in ("/auth/2fa/passkey", "/auth/2fa/totp"):
            page = client.get(prefix + path)
            assert page.status_code == 200, page.text
            found[path] = page.text
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_english_is_left_on_the_passkey_pages(site: Site, language: str) -> None:
    english = pages(site, "")
    translated = pages(site, f"/{language}")
    # Same in every language: the passkey's name, "Passkey" in German, the dates.
    same = {"Work laptop", "Passkey", "Passkeys", "Name"}
    for name, page in translated.items():
        left = {t for t in words_of(english[name]) & words_of(page) if not t[0].isdigit()} - same
        assert left == set(), f"/{language} {name} still says, in English: {sorted(left)}"
    for name in ("login", "list", "/auth/2fa/passkey"):
        wanted, got = messages(english[name]), messages(translated[name])
        assert set(got) == {"cancelled", "exists", "unsupported", "refused", "offline", "status"}
        assert set(got) == set(wanted), name
        for key, text in got.items():
            assert text != wanted[key], f"/{language} {name}: data-message-{key} is English"
            assert ("{" in text) == ("{" in wanted[key]), text  # {status}, {reason} kept


def test_the_passkey_pages_in_french(site: Site) -> None:
    found = pages(site, "/fr")
    assert messages(found["login"])["cancelled"] == (
        "La demande de clé d’accès a été annulée ou a expiré. Réessayez quand vous serez prêt."
    )
    assert messages(found["list"])["status"] == "Le serveur a répondu {status}."
    # The other factors, named and linked in French.
    assert (
        '<a href="/fr/auth/2fa/totp">Application d’authentification</a>'
        in found["/auth/2fa/passkey"]
    )
    assert ">Clé d’accès</a>" in found["/auth/2fa/totp"]
    assert ">Un code de secours</a>" in found["/auth/2fa/totp"]


def refusal(response: object, status: int) -> str:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", "")
    detail: str = response.json()["detail"]  # type: ignore[attr-defined]
    return detail


def test_the_endpoints_refuse_in_the_page_language(site: Site) -> None:
    with TestClient(site.app) as client:
        sign_in(client, KEY["ann"])
        token = token_of(client.get("/fr/auth/passkeys").text)
        url = "/fr/auth/passkeys/register/options"
        headers = {"x-csrf-token": token}
        nameless = client.post(url, json={"name": ""}, headers=headers)
        assert refusal(nameless, 400) == "Le nom de la clé d’accès : Ce champ est obligatoire."
        wrong = client.post(url, json={"name": "Phone", "password": "no"}, headers=headers)
        assert refusal(wrong, 400).startswith("Ce n’est pas votre mot de passe actuel.")
        stale = client.post("/de/auth/passkeys/register", json={}, headers=headers)
        assert refusal(stale, 400) == (
            "Hier wartet keine Passkey-Anfrage auf eine Antwort (sie wurde bereits "
            "beantwortet oder die Sitzung ist abgelaufen). Beginnen Sie von vorn: Laden Sie "
            "die Seite neu und verwenden Sie Ihren Passkey noch einmal."
        )
        body = {"name": "Móvil", "password": "tea-at-altitude-1865"}
        options(client, "/es/auth/passkeys/register/options", body, token)
        broken = {"credential": {"id": "x"}}
        checked = client.post("/es/auth/passkeys/register", json=broken, headers=headers)
        assert refusal(checked, 400).startswith("No se pudo comprobar la respuesta")
        english = client.post("/auth/passkeys/register", json=broken, headers=headers)
        assert refusal(english, 400).startswith("This passkey request was answered already.")


def test_the_script_goes_on_in_the_page_language(site: Site) -> None:
    """The redirects the JSON endpoints answer keep the /fr prefix, as the app's own
    redirects do (the script follows them itself)."""
    key = SoftKey()
    with TestClient(site.app) as client:
        assert sign_in(client, KEY["ann"], "/fr") == "/fr/"
        token = token_of(client.get("/fr/auth/passkeys").text)
        body = {"name": "Téléphone", "password": "tea-at-altitude-1865"}
        asked = options(client, "/fr/auth/passkeys/register/options", body, token)
        added = client.post(
            "/fr/auth/passkeys/register",
            json={"credential": key.create(asked)},
            headers={"x-csrf-token": token},
        )
        assert added.status_code == 201, added.text
        assert added.json() == {"redirect": "/fr/auth/passkeys"}
        listed = client.get(added.json()["redirect"]).text
        assert "La clé d’accès Téléphone a été ajoutée." in listed
        assert "dernière utilisation jamais" in listed
    with TestClient(site.app) as client:
        assert sign_in(client, key, "/de") == "/de/"
    with TestClient(site.app) as client:
        assert sign_in(client, key) == "/"
