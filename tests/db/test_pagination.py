"""Paginator: pages of a QuerySet, 404 out of range, stable without an explicit ordering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from newsmodels import Article, Tag, User

from kettle.db import Database, Page, Paginator
from kettle.exceptions import HTTPException


@pytest.fixture
def tags(db: Database) -> Iterator[Database]:
    with db.session():
        Tag.objects.bulk_create([Tag(name=f"tag{i:02}") for i in range(7)])
    with db.session():
        yield db


def names(page: Page[Tag]) -> list[str]:
    return [t.name for t in page.items]


def test_pages(tags: Database) -> None:
    paginator: Paginator[Tag] = Paginator(Tag.objects.order_by("-name"), per_page=3)
    first = paginator.page(1)
    assert names(first) == ["tag06", "tag05", "tag04"]
    assert (first.number, first.total, first.num_pages) == (1, 7, 3)
    assert first.has_next
    assert not first.has_previous
    assert names(paginator.page(2)) == ["tag03", "tag02", "tag01"]
    last = paginator.page("3")  # as it comes from a query string
    assert names(last) == ["tag00"]
    assert last.has_previous
    assert not last.has_next


def test_out_of_range_is_a_404(tags: Database) -> None:
    paginator = Paginator(Tag.objects.all(), per_page=3)
    for number in (0, 4, -1, "x", "", None):
        with pytest.raises(HTTPException) as caught:
            paginator.page(number)  # type: ignore[arg-type]
        assert caught.value.status == 404
    with pytest.raises(HTTPException, match="pages run from 1 to 3"):
        paginator.page(4)


def test_an_empty_list_has_one_empty_page(db: Database) -> None:
    with db.session():
        page = Paginator(Article.objects.filter(title="none"), per_page=10).page(1)
        assert (page.items, page.num_pages, page.has_next) == ([], 1, False)
        with pytest.raises(HTTPException):
            Paginator(User.objects.all(), per_page=10).page(2)


def test_unordered_querysets_page_by_primary_key(tags: Database) -> None:
    # Tag has no Meta.ordering: every row shows up exactly once across the pages.
    paginator = Paginator(Tag.objects.all(), per_page=2)
    seen = [name for n in range(1, 5) for name in names(paginator.page(n))]
    assert seen == [f"tag{i:02}" for i in range(7)]


def test_filtered_pages_count_only_matches(tags: Database) -> None:
    page = Paginator(Tag.objects.filter(name__endswith="1"), per_page=5).page(1)
    assert (names(page), page.total) == (["tag01"], 1)


def test_per_page_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_page must be at least 1"):
        Paginator(Tag.objects.all(), per_page=0)
