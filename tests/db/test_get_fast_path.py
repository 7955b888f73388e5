"""``get``/``aget`` with ``column=value`` lookups run a statement prepared once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from newsmodels import Article, Status, User

from kettle import App
from kettle.db import Database, DoesNotExist, _statements
from kettle.testing import TestClient


@pytest.fixture
def users(db: Database) -> list[User]:
    with db.session():
        made = [User.objects.create(username=name) for name in ("ann", "bob", "Cid")]
    return made


def test_get_by_primary_key_finds_the_row(db: Database, users: list[User]) -> None:
    with db.session():
        assert User.objects.get(id=users[1].id).username == "bob"
        assert User.objects.get(pk=users[2].id).username == "Cid"
        assert User.objects.get(id=str(users[0].id)).username == "ann"  # from a query string
        assert User.objects.get(username="bob", id=users[1].id).id == users[1].id


def test_text_equality_stays_case_sensitive(db: Database, users: list[User]) -> None:
    with db.session():
        assert User.objects.get(username="Cid").id == users[2].id
        with pytest.raises(DoesNotExist):
            User.objects.get(username="cid")


def test_aget_finds_the_row_and_raises_does_not_exist(db: Database, users: list[User]) -> None:
    async def main() -> tuple[str, str]:
        try:
            async with db.async_session():
                found = await User.objects.aget(id=users[0].id)
                with pytest.raises(DoesNotExist) as missing:
                    await User.objects.aget(id=10_000)
                return found.username, str(missing.value.detail)
        finally:
            await db.async_engine.dispose()

    assert asyncio.run(main()) == ("ann", "No User matches id=10000.")


def test_missing_row_is_a_404(app: App, db: Database, users: list[User]) -> None:
    @app.get("/users/<int:id>")
    async def show(id: int) -> dict[str, Any]:
        return {"username": (await User.objects.aget(id=id)).username}

    with TestClient(app) as client:
        assert client.get(f"/users/{users[1].id}").json() == {"username": "bob"}
        response = client.get("/users/10000")
        assert response.status_code == 404
        assert "No User matches id=10000." in response.text


def test_the_statement_is_prepared_once_per_model_and_lookup_names(db: Database) -> None:
    first = _statements.get_by_equality(User.objects, {"id": 1})
    second = _statements.get_by_equality(User.objects, {"id": 2})
    other = _statements.get_by_equality(User.objects, {"username": "x"})
    assert first is not None
    assert second is not None
    assert other is not None
    assert first[0] is second[0]
    assert list(first[1].values()) == [1]
    assert list(second[1].values()) == [2]
    assert other[0] is not first[0]


@pytest.mark.parametrize(
    ("queryset", "lookups"),
    [
        (lambda: User.objects.filter(is_editor=True), {"id": 1}),  # not Model.objects
        (lambda: User.objects.order_by("username"), {"id": 1}),
        (lambda: User.objects, {"username__iexact": "ann"}),  # not an equality
        (lambda: User.objects, {"email": None}),  # IS NULL
        (lambda: Article.objects, {"author": 1}),  # a relation
        (lambda: Article.objects, {"status": Status.DRAFT}),  # not a plain value
        (lambda: User.objects, {}),
    ],
)
def test_anything_else_takes_the_usual_path(queryset: Any, lookups: dict[str, Any]) -> None:
    assert _statements.get_by_equality(queryset(), lookups) is None


def test_usual_path_still_answers(db: Database, users: list[User]) -> None:
    with db.session():
        assert User.objects.filter(username__startswith="b").get(id=users[1].id).username == "bob"
        assert User.objects.get(username__iexact="ANN").id == users[0].id
        assert User.objects.get(email=None, username="Cid").id == users[2].id
