"""The admin mounted under a prefix (a Kettle mount, a server's root path, a language): its
login redirect, its pages' links, forms and static files all keep the prefix. On SQLite:
nothing here depends on the engine."""

from __future__ import annotations

import re

from adminsite import PASSWORD, Site, seed

from htmlforms import csrf_from
from kettle import App, Settings
from kettle.i18n import I18n
from kettle.testing import TestClient

#: Every link, form action and script or style address of a page.
ADDRESSES = re.compile(r'(?:href|action|src)="([^"]*)"')


def local_addresses(html: str) -> list[str]:
    return [a for a in ADDRESSES.findall(html) if a.startswith("/")]


def visit(client: TestClient, prefix: str, static_prefix: str) -> None:
    """Signs in through the admin's redirect, then checks the pages' addresses."""
    asked = client.get(f"{prefix}/admin/")
    assert asked.status_code == 303
    assert asked.headers["location"] == (
        f"{prefix}/auth/login?next=" + f"{prefix}/admin/".replace("/", "%2F")
    )
    page = client.get(asked.headers["location"])
    form = {"username": "root", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    signed_in = client.post(f"{prefix}/auth/login", data={**form, "next": f"{prefix}/admin/"})
    assert signed_in.headers["location"] == f"{prefix}/admin/"
    pages = [f"{prefix}/admin/", f"{prefix}/admin/post/", f"{prefix}/admin/post/add"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:500])
        found = local_addresses(response.text)
        assert len(found) > 5, url
        for address in found:
            if "/static/" in address:
                assert address.startswith(static_prefix + "/admin/static/"), address
                assert client.get(address).status_code == 200, address
            else:
                assert address.startswith(prefix + "/"), (url, address)
                assert not address.startswith(prefix + prefix + "/"), (url, address)
    dashboard = client.get(f"{prefix}/admin/").text
    assert 'class="sidebar-home active"' in dashboard  # it knows where it is


def test_the_admin_under_a_kettle_mount(sqlite_site: Site) -> None:
    seed(sqlite_site.db)
    sqlite_site.user("root", superuser=True)
    outer = App(settings=Settings.load(env="testing", env_file=None), root=sqlite_site.app.root)
    outer.mount("/office", sqlite_site.app)
    with TestClient(outer, root_path="/www") as client:
        visit(client, "/www/office", "/www/office")


def test_the_admin_under_a_language_prefix(sqlite_site: Site) -> None:
    I18n(sqlite_site.app, languages=["en", "fr"])
    seed(sqlite_site.db)
    sqlite_site.user("root", superuser=True)
    with TestClient(sqlite_site.app, root_path="/www") as client:
        visit(client, "/www/fr", "/www")
