"""Every admin page is ``Cache-Control: private, no-store``: the login redirect and the
403 too, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from adminsite import Site

PRIVATE = "private, no-store"


def test_admin_pages_are_never_stored(site: Site) -> None:
    site.user("root", superuser=True)
    site.user("reader", staff=False)
    anonymous = site.client()
    redirect = anonymous.get("/admin/post/")
    assert redirect.status_code == 303
    assert redirect.headers["cache-control"] == PRIVATE
    assert anonymous.get("/admin/no/such/page").headers["cache-control"] == PRIVATE
    assert "cache-control" not in anonymous.get("/auth/login").headers
    anonymous.__exit__(None, None, None)

    reader = site.client("reader")
    refused = reader.get("/admin/")
    assert refused.status_code == 403
    assert refused.headers["cache-control"] == PRIVATE
    reader.__exit__(None, None, None)

    root = site.client("root")
    for path in ("/admin/", "/admin/post/", "/admin/post/add"):
        response = root.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == PRIVATE, path
    root.__exit__(None, None, None)
