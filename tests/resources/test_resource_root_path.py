"""A resource's own links under a root path: the ``Location`` of a created row and the
list's ``next``/``previous`` pages carry a server's root path and a Kettle mount's prefix,
once. On SQLite: nothing here depends on the engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site
from postsite import PostResource, posts

from authpages import PASSWORD
from htmlforms import csrf_from
from kettle import App, Settings
from kettle.testing import TestClient


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    built = make_site(tmp_path, f"sqlite:///{tmp_path / 'res.sqlite3'}")
    built.db.create_all()
    yield built
    built.db.dispose()


def test_location_and_page_links_under_a_mount_and_a_root_path(sqlite_site: Site) -> None:
    site = sqlite_site
    site.app.resource("/api/posts", PostResource)
    ann = site.user("ann", is_superuser=True)
    posts(site, "ann", *(f"post {i}" for i in range(3)))
    outer = App(settings=Settings.load(env="testing", env_file=None), root=site.app.root)
    outer.mount("/v1", site.app)
    prefix = "/www/v1"
    with TestClient(outer, root_path="/www") as client:
        page = client.get(f"{prefix}/auth/login")
        form = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        assert client.post(f"{prefix}/auth/login", data=form).status_code == 303
        created = client.post(f"{prefix}/api/posts", json={"title": "New", "author_id": ann.id})
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        assert location == f"{prefix}/api/posts/{created.json()['id']}"
        assert client.get(location).json()["title"] == "New"
        first = client.get(f"{prefix}/api/posts?ordering=title").json()
        assert first["next"] == f"{prefix}/api/posts?ordering=title&page=2"
        second = client.get(first["next"]).json()
        assert second["previous"] == f"{prefix}/api/posts?ordering=title&page=1"
        assert [p["title"] for p in first["items"] + second["items"]] == [
            "New",
            "post 0",
            "post 1",
            "post 2",
        ]
