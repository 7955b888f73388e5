"""Every value the admin reads from a request is checked: hostile ones are a 400 or a 404
(or match nothing), never a 500, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import re
from urllib.parse import quote

from adminsite import Post, Site, csrf_from, seed

from kettle.testing import TestClient

HUGE = "9" * 20  # beyond 64 bits
LARGE = str(2**63)  # one past BIGINT
SUPERSCRIPT = quote("²")  # str.isdigit() says yes, int() says no
ARABIC = quote("٣")  # int() reads it as 3


def titles(html: str) -> list[str]:
    return re.findall(r'href="/admin/post/\d+/change">([^<]+)</a>', html)


BAD_LIST_QUERIES = [
    f"p={HUGE}",
    f"p={LARGE}",
    f"p={SUPERSCRIPT}",
    f"p={ARABIC}",
    "p=-1",
    "p=1e3",
    "p=%00",
    "o=%00",
    "o=title%00",
    "q=%00",
    "q=tea%01",
    "q=" + "a" * 5000,
    "status__exact=%00",
    "featured__exact=%00",
    "featured__isnull=%00",
    "writer__isnull=2",
    f"writer__id__exact={SUPERSCRIPT}",
    f"writer__id__exact={ARABIC}",
    "writer__id__exact=%00",
    "created__gte=%00",
    "created__lte=2024-02-30",
    "created__lt=2024-13-01",
    "created__isnull=%00",
]
EDGE_QUERIES = [
    (f"writer__id__exact={HUGE}", []),
    (f"writer__id__exact={LARGE}", []),
    ("created__lte=9999-12-31", ["Post 3", "Post 2", "Post 1"]),
    ("created__lt=9999-12-31", ["Post 3", "Post 2", "Post 1"]),
    ("created__gte=9999-12-31", []),
    ("created__gte=0001-01-01", ["Post 3", "Post 2", "Post 1"]),
    ("created__lt=0001-01-01", []),
    ("created__lte=0001-01-01", []),
]


def test_bad_list_parameters_are_400s(site: Site, root: TestClient) -> None:
    seed(site.db, 3)
    for query in BAD_LIST_QUERIES:
        response = root.get(f"/admin/post/?{query}")
        assert response.status_code == 400, (query[:40], response.text[:300])
        assert response.json()["detail"]


def test_values_at_the_edges_filter_as_they_say(site: Site, root: TestClient) -> None:
    seed(site.db, 3)
    for query, expected in EDGE_QUERIES:
        response = root.get(f"/admin/post/?{query}")
        assert response.status_code == 200, (query, response.text[:300])
        assert titles(response.text) == expected, query


def test_objects_no_row_can_be_are_404s(site: Site, root: TestClient) -> None:
    made = seed(site.db, 3)
    assert 3 in {p.id for p in made["posts"]}  # int() would read ARABIC as this id
    for id in (HUGE, LARGE, "-1", SUPERSCRIPT, ARABIC, "%00", "1%00"):
        for view in ("change", "delete", "history"):
            response = root.get(f"/admin/post/{id}/{view}")
            assert response.status_code == 404, (id, view, response.text[:300])


def test_autocomplete_parameters(site: Site, root: TestClient) -> None:
    seed(site.db, 1)
    for page, status in [
        (HUGE, 200),
        (LARGE, 200),
        (SUPERSCRIPT, 400),
        (ARABIC, 400),
        ("0", 400),
        ("%00", 400),
    ]:
        response = root.get(f"/admin/writer/autocomplete?term=a&page={page}")
        assert response.status_code == status, (page, response.text[:300])
        if status == 200:
            assert response.json() == {"results": [], "more": False}
    assert root.get("/admin/writer/autocomplete?term=%00").status_code == 400
    assert root.get("/admin/writer/autocomplete?term=" + "a" * 5000).status_code == 200


def test_bulk_actions_refuse_ids_that_are_no_ids(site: Site, root: TestClient) -> None:
    made = seed(site.db, 3)
    ids = [str(p.id) for p in made["posts"]]
    page = root.get("/admin/post/")
    for bad in (SUPERSCRIPT, ARABIC, "%00", "x"):
        for action in ("publish", "delete_selected"):
            response = root.post(
                "/admin/post/",
                content=f"action={action}&_selected={ids[0]}&_selected={bad}"
                f"&csrf_token={csrf_from(page.text)}",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert response.status_code == 400, (bad, action, response.text[:300])
    with site.db.session():
        assert Post.objects.count() == 3


def test_bulk_actions_skip_ids_no_row_can_have(site: Site, root: TestClient) -> None:
    made = seed(site.db, 3)
    first = str(made["posts"][0].id)
    page = root.get("/admin/post/")
    response = root.post(
        "/admin/post/",
        data={
            "action": "delete_selected",
            "_selected": [first, HUGE, LARGE],
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 200
    assert "Delete 1 post" in response.text


def test_form_values_no_column_can_hold_are_form_errors(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    page = root.get("/admin/post/add")
    base = {
        "title": "Fresh tea",
        "status": "draft",
        "score": "1",
        "writer": str(made["ann"].id),
        "remark-TOTAL_FORMS": "0",
        "csrf_token": csrf_from(page.text),
    }
    for field, value, message in [
        ("score", "٣", "Enter a whole number."),
        ("score", "1_0", "Enter a whole number."),
        ("score", HUGE, "Ensure this value is between"),
        ("title", "tea\x00", "NUL"),
        ("body", "tea\x00", "NUL"),
        ("writer", HUGE, "Select a valid choice"),
        ("writer", "٣", "Select a valid choice"),
        ("labels", HUGE, "Select a valid choice"),
    ]:
        response = root.post("/admin/post/add", data={**base, field: value})
        assert response.status_code == 400, (field, value, response.text[:300])
        assert message in response.text, (field, value)
    with site.db.session():
        assert Post.objects.count() == 1
