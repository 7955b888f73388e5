"""Kettle's own pages in the reader's language: the admin, the auth pages, error pages
and the 422 messages, on each database engine."""

# ruff: noqa: RUF001 - French is written with typographic apostrophes, as shipped.

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from i18nadmin import PASSWORD, Site, make_site, seed

from htmlforms import csrf_from
from kettle.testing import TestClient


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    built = make_site(tmp_path, db_url)
    built.db.drop_all()
    seed(built)

    @built.app.get("/items")
    def items(limit: int = 10) -> dict[str, int]:
        return {"limit": limit}

    @built.app.get("/required")
    def required(q: str) -> dict[str, str]:
        return {"q": q}

    yield built
    built.db.drop_all()
    built.db.dispose()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app) as client:
        page = client.get("/auth/login")
        signed_in = client.post(
            "/auth/login",
            data={"username": "root", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        )
        assert signed_in.status_code == 303, signed_in.text
        yield client


def test_the_admin_in_french(client: TestClient) -> None:
    dashboard = client.get("/fr/admin/")
    assert dashboard.status_code == 200
    assert dashboard.headers["content-language"] == "fr"
    html = dashboard.text
    for french in (
        '<html lang="fr"',
        "Tableau de bord",
        "Modèles",
        "Se déconnecter",
        "Aller au contenu",
        'title="Les dates et heures sont affichées dans ce fuseau horaire"',
    ):
        assert french in html, french
    assert 'href="/fr/admin/"' in html  # links keep the language
    assert 'href="/admin/static/admin.css"' in html  # static files have one URL
    listing = client.get("/fr/admin/local_tea/").text
    for french in (
        "Rechercher",
        "Filtres",
        "Par harvested",
        "Action",
        "Exécuter",
        "0 sur 4 sélectionné",
        'aria-label="Fil d’Ariane"',
    ):
        assert french in listing, french
    form = client.get("/fr/admin/local_tea/add").text
    for french in ("Enregistrer et continuer", "Enregistrer et en ajouter un autre"):
        assert french in form


def test_the_admin_in_german_and_spanish(client: TestClient) -> None:
    assert "Übersicht" in client.get("/de/admin/").text
    assert "Panel" in client.get("/es/admin/").text
    # The user's own setting, with no prefix, cookie or header.
    assert "Dashboard" in client.get("/admin/").text


def test_admin_form_errors_in_french(client: TestClient) -> None:
    url = "/fr/admin/local_tea/add"
    page = client.get(url)
    response = client.post(
        url, data={"name": "", "grams": "100", "origin": "", "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 400
    assert "Veuillez corriger l’erreur ci-dessous." in response.text
    assert "Ce champ est obligatoire." in response.text


def test_auth_pages_in_french_and_spanish(site: Site) -> None:
    with TestClient(site.app) as client:
        login = client.get("/fr/auth/login").text
        for french in (
            "Se connecter",
            "Nom d’utilisateur",
            "Mot de passe oublié ?",
            '<html lang="fr">',
        ):
            assert french in login, french
        assert "Konto erstellen" in client.get("/de/auth/signup").text
        page = client.get("/es/auth/login")
        refused = client.post(
            "/es/auth/login",
            data={"username": "root", "password": "wrong", "csrf_token": csrf_from(page.text)},
        )
        assert refused.status_code == 422
        assert "Introduzca un nombre de usuario y una contraseña correctos." in refused.text
        reset = client.get("/de/auth/password/reset").text
        assert "Passwort zurücksetzen" in reset


def test_the_users_language_setting(site: Site, client: TestClient) -> None:
    from kettle.auth import User

    with site.db.session():
        user = User.objects.get(username="root")
        user.language = "de"
        user.save()
    response = client.get("/admin/", headers={"accept-language": "fr"})
    assert "Übersicht" in response.text  # the user's setting beats Accept-Language
    assert response.headers["content-language"] == "de"


def test_error_pages_and_validation_messages(client: TestClient) -> None:
    missing = client.get("/fr/nowhere", headers={"accept": "text/html"})
    assert missing.status_code == 404
    assert "Page introuvable" in missing.text
    assert "Rien n’est servi à l’adresse /nowhere." in missing.text
    bad = client.get("/fr/items?limit=abc")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["msg"] == (
        "Paramètre de requête 'limit' : nombre entier attendu (chiffres ASCII 0-9), reçu 'abc'."
    )
    german = client.get("/de/items?limit=abc").json()["errors"][0]["msg"]
    assert german == (
        "Query-Parameter 'limit': erwartet: eine ganze Zahl (ASCII-Ziffern 0-9), erhalten: 'abc'."
    )
    english = client.get("/items?limit=abc").json()["errors"][0]["msg"]
    assert (
        english == "Query parameter 'limit': expected a whole number (ASCII digits 0-9), got 'abc'."
    )
    missing = client.get("/fr/required").json()["errors"][0]["msg"]
    assert missing == "Ce champ est obligatoire : paramètre de requête 'q' n’a pas été envoyé."


def test_signing_in_from_a_french_page_stays_in_french(site: Site) -> None:
    with TestClient(site.app) as client:
        to_login = client.get("/fr/admin/", follow_redirects=False)
        assert to_login.headers["location"].startswith("/fr/auth/login?next=")
        page = client.get(to_login.headers["location"])
        assert "Se connecter" in page.text
        signed_in = client.post(
            to_login.headers["location"],
            data={
                "username": "root",
                "password": PASSWORD,
                "next": "/admin/",  # the form's hidden field: the path the app routed
                "csrf_token": csrf_from(page.text),
            },
            follow_redirects=False,
        )
        assert signed_in.headers["location"] == "/fr/admin/"


def test_the_reset_mail_is_in_the_readers_language(site: Site) -> None:
    with TestClient(site.app) as client:
        page = client.get("/fr/auth/password/reset")
        sent = client.post(
            "/fr/auth/password/reset",
            data={"email": "root@example.org", "csrf_token": csrf_from(page.text)},
        )
        assert "Consultez vos e-mails" in sent.text
    [mail] = site.mail.outbox
    assert mail.subject.startswith("Réinitialisez votre mot de passe sur ")
    assert mail.body.startswith("Bonjour root,\n\nquelqu’un (vous, espérons-le)")
    assert "/fr/auth/password/reset/" in mail.body  # the link stays in French
