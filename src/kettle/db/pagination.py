"""Page through a QuerySet: ``Paginator(qs, per_page=30).page(2)``.

A QuerySet without an ordering is paged by primary key, so no row shows up on two pages
or on none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kettle._integers import parse_int
from kettle.db.query import QuerySet
from kettle.exceptions import HTTPException

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and where it sits among the others::

    page = paginator.page(2)
    page.items, page.number, page.num_pages, page.has_next
    """

    #: The rows on this page, at most ``per_page`` of them.
    items: list[T]
    #: Which page this is, counted from 1.
    number: int
    #: How many rows a full page holds.
    per_page: int
    #: How many rows there are on all the pages together.
    total: int

    @property
    def num_pages(self) -> int:
        """How many pages there are (at least 1, so an empty list still has page 1)::

        Page(items=[], number=1, per_page=30, total=61).num_pages   # 3
        """
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        """Whether a page follows this one: ``if page.has_next: ...``."""
        return self.number < self.num_pages

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one: ``if page.has_previous: ...``."""
        return self.number > 1


class Paginator(Generic[T]):
    """Splits a QuerySet into pages; a page number out of range (or not a number, when it
    comes from a query string) is a 404::

        page = Paginator(Article.objects.order_by("-created"), per_page=30).page(number)
    """

    def __init__(self, queryset: QuerySet[Any], per_page: int) -> None:
        if per_page < 1:
            raise ValueError(f"per_page must be at least 1, got {per_page}.")
        self.queryset = queryset
        self.per_page = per_page

    def _number(self, number: int | str) -> int:
        if isinstance(number, int):
            return number
        try:
            return parse_int(number)
        except (TypeError, ValueError):
            raise HTTPException(404, f"{number!r} is not a page number.") from None

    def _check(self, number: int, total: int) -> None:
        pages = max(1, -(-total // self.per_page))
        if number < 1 or number > pages:
            raise HTTPException(404, f"There is no page {number}; pages run from 1 to {pages}.")

    def page(self, number: int | str) -> Page[Any]:
        """Page ``number`` (from 1): ``paginator.page(request.query.get("page", 1))``."""
        number = self._number(number)
        total = self.queryset.count()
        self._check(number, total)
        start = (number - 1) * self.per_page
        items = list(self.queryset[start : start + self.per_page])
        return Page(items, number, self.per_page, total)

    async def apage(self, number: int | str) -> Page[Any]:
        """``page()`` for async code: ``await paginator.apage(2)``."""
        number = self._number(number)
        total = await self.queryset.acount()
        self._check(number, total)
        start = (number - 1) * self.per_page
        items = await self.queryset[start : start + self.per_page].alist()
        return Page(items, number, self.per_page, total)


__all__ = ["Page", "Paginator"]
