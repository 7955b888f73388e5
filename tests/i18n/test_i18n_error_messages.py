"""The refusals of kettle.auth and the admin in the request's language: the 401 and 403 of
the guards, a bad API token, the admin's 403/404/400 pages and the password validators'
messages, under /fr, /de and /es. English stays the default (the tests of tests/auth and
tests/admin assert it)."""

# ruff: noqa: RUF001 - French is written with typographic apostrophes, as shipped.

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from i18nadmin import PASSWORD, Site, make_site, seed

from htmlforms import csrf_from
from kettle.auth import User, login_required, permission_required
from kettle.testing import TestClient

JSON = {"accept": "application/json"}
BROWSER = {"accept": "text/html"}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'teashop.sqlite3'}")

    @site.app.get("/private")
    @login_required
    def private() -> str:
        return "private"

    @site.app.get("/reports")
    @permission_required("reports.view")
    def reports() -> str:
        return "reports"

    seed(site)
    with site.db.session():
        clerk = User(username="clerk", email="clerk@example.org", is_staff=True)
        clerk.set_password(PASSWORD)
        clerk.save()
        guest = User(username="guest", email="guest@example.org")
        guest.set_password(PASSWORD)
        guest.save()
    try:
        yield site
    finally:
        site.db.drop_all()
        site.db.dispose()


def _signed_in(site: Site, username: str) -> TestClient:
    client = TestClient(site.app)
    page = client.get("/auth/login")
    signed_in = client.post(
        "/auth/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert signed_in.status_code == 303, signed_in.text
    return client


def _refused_password(client: TestClient, prefix: str, new: str) -> str:
    """The text of the 422 page that refuses ``new`` as the signed-in user's password
    on the password page under ``prefix`` ("/fr", or "" for English)."""
    form = client.get(f"{prefix}/auth/password")
    data = {"old_password": PASSWORD, "password1": new, "password2": new}
    refused = client.post(
        f"{prefix}/auth/password", data={**data, "csrf_token": csrf_from(form.text)}
    )
    assert refused.status_code == 422
    return html.unescape(refused.text)


def _detail(response: object) -> str:
    detail = response.json()["detail"]  # type: ignore[attr-defined]
    assert isinstance(detail, str)
    return detail


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("", "Authentication required: sign in, or send an API token as"),
        ("/fr", "Authentification requise : connectez-vous, ou envoyez un jeton d’API"),
        ("/de", "Anmeldung erforderlich: Melden Sie sich an, oder senden Sie ein API-Token"),
        ("/es", "Se requiere autenticación: inicie sesión o envíe un token de API"),
    ],
)
def test_the_401_of_a_guard_is_in_the_language(site: Site, language: str, words: str) -> None:
    response = TestClient(site.app).get(f"{language}/private", headers=JSON)
    assert response.status_code == 401
    assert _detail(response).startswith(words)
    assert _detail(response).endswith("`Authorization: Bearer <token>`.")


def test_a_bad_api_token_is_refused_in_the_language(site: Site) -> None:
    bearer = {**JSON, "authorization": "Bearer kt_nosuchtoken"}
    french = TestClient(site.app).get("/fr/private", headers=bearer)
    assert french.status_code == 401
    assert _detail(french).startswith(
        "Le jeton d’API n’est pas valide : il est inconnu, ou son compte est désactivé."
    )
    german = TestClient(site.app).get("/de/private", headers=bearer)
    assert _detail(german).startswith(
        "Das API-Token ist ungültig: es ist unbekannt, oder sein Konto ist deaktiviert."
    )
    english = TestClient(site.app).get("/private", headers=bearer)
    assert _detail(english).startswith("The API token is not valid: it is unknown")


def test_the_403_of_a_guard_is_in_the_language(site: Site) -> None:
    client = _signed_in(site, "guest")
    french = client.get("/fr/reports", headers=JSON)
    assert french.status_code == 403
    assert _detail(french) == (
        "Vous êtes connecté, mais vous n’avez pas accès à cette page. "
        "Elle demande : the permission reports.view."
    )
    german = client.get("/de/reports", headers=BROWSER)  # the error page, in German
    assert german.status_code == 403
    assert '<html lang="de">' in german.text
    assert "Sie sind angemeldet, haben hier aber keinen Zugang." in german.text
    english = client.get("/reports", headers=JSON)
    assert _detail(english) == (
        "You are signed in but not allowed here: this needs the permission reports.view."
    )


def test_the_admin_refuses_a_user_who_is_not_staff_in_the_language(site: Site) -> None:
    client = _signed_in(site, "guest")
    french = client.get("/fr/admin/", headers=BROWSER)
    assert french.status_code == 403
    assert (
        "Vous êtes connecté en tant que guest, qui ne fait pas partie de l’équipe"
        in html.unescape(french.text)
    )
    german = client.get("/de/admin/", headers=JSON)
    assert _detail(german).startswith("Sie sind als guest angemeldet, ein Konto ohne")


def test_the_admin_says_what_a_staff_user_may_not_do_in_the_language(site: Site) -> None:
    client = _signed_in(site, "clerk")  # staff, with no permission on teas
    french = client.get("/fr/admin/local_tea/", headers=BROWSER)
    assert french.status_code == 403
    assert "Votre compte n’a pas le droit de consulter : local teas." in html.unescape(french.text)
    spanish = client.get("/es/admin/local_tea/add", headers=JSON)
    assert spanish.status_code == 403
    assert _detail(spanish) == "Su cuenta no tiene permiso para añadir: local teas."
    english = client.get("/admin/local_tea/", headers=JSON)
    assert _detail(english) == "You do not have permission to view local teas."


def test_the_admin_errors_about_the_address_are_in_the_language(site: Site) -> None:
    client = _signed_in(site, "root")
    missing = client.get("/fr/admin/local_tea/999/change", headers=JSON)
    assert missing.status_code == 404
    assert _detail(missing) == (
        "Aucun élément local tea n’a l’identifiant '999' (il a peut-être été supprimé)."
    )
    page = client.get("/de/admin/local_tea/?p=zwei", headers=JSON)
    assert page.status_code == 400
    assert _detail(page) == "Die Seitenzahl p muss eine ganze Zahl ab 1 sein, nicht 'zwei'."
    day = client.get("/es/admin/local_tea/?harvested__gte=mayo", headers=BROWSER)
    assert day.status_code == 400
    assert (
        "El filtro harvested__gte='mayo' no es válido: se esperaba una fecha con el formato "
        "AAAA-MM-DD." in html.unescape(day.text)
    )
    model = client.get("/fr/admin/coffee/", headers=JSON)
    assert model.status_code == 404
    assert _detail(model) == "L’administration n’a aucun modèle 'coffee'."
    english = client.get("/admin/local_tea/?p=two", headers=JSON)
    assert _detail(english) == "The page number p must be a whole number from 1, not 'two'."


@pytest.mark.parametrize(
    ("language", "messages"),
    [
        (
            "fr",
            (
                "Ce mot de passe est trop court : utilisez au moins 10 caractères.",
                "Ce mot de passe ne contient que des chiffres.",
            ),
        ),
        (
            "de",
            (
                "Dieses Passwort ist zu kurz: Verwenden Sie mindestens 10 Zeichen.",
                "Dieses Passwort besteht nur aus Ziffern.",
            ),
        ),
        ("en", ("This password is too short", "This password is entirely numeric.")),
    ],
)
def test_the_password_validators_speak_the_language(
    site: Site, language: str, messages: tuple[str, ...]
) -> None:
    client = _signed_in(site, "guest")
    text = _refused_password(client, "" if language == "en" else f"/{language}", "1234")
    for message in messages:
        assert message in text, message


def test_a_similar_or_weak_password_is_refused_in_the_language(site: Site) -> None:
    client = _signed_in(site, "guest")
    text = _refused_password(client, "/fr", "guest@example.org1")
    assert "Ce mot de passe ressemble trop à votre" in text
    text = _refused_password(client, "/es", "aaaaaaaaaaaa")
    # zxcvbn's own advice is English only: a Spanish page gets the general advice instead.
    assert (
        "Esta contraseña es demasiado fácil de adivinar. Añada una o dos palabras más. "
        "Las palabras poco comunes son mejores."
    ) in text


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", "ce nom mélange des lettres des écritures Cyrillic et Latin (а, о)"),
        ("de", "Dieser Name mischt Buchstaben der Schriften Cyrillic und Latin (а, о)"),
        ("es", "este nombre mezcla letras de las escrituras Cyrillic y Latin (а, о)"),
        ("en", "this name mixes Cyrillic and Latin letters (а, о)"),
    ],
)
def test_a_username_mixing_scripts_is_refused_in_the_language(
    site: Site, language: str, words: str
) -> None:
    client = TestClient(site.app)
    prefix = "" if language == "en" else f"/{language}"
    page = client.get(f"{prefix}/auth/signup")
    refused = client.post(
        f"{prefix}/auth/signup",
        data={
            "username": "p\u0430\u043elo",  # Latin p and l, Cyrillic a and o
            "email": "paolo@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert refused.status_code == 422
    assert words in html.unescape(refused.text)
