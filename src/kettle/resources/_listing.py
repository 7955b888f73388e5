"""What a list request asks for, read from its query string against the resource's
declarations: filters, search, ordering, page size, page or cursor, fields.

Everything a client may name is checked against what the resource declared (a 400
naming the parameter and listing the valid ones), so the query string never reaches the
model unchecked. The plan is built once per resource; a request only looks names up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kettle._integers import parse_int
from kettle._messages import invalid, shown, where
from kettle.datastructures import MultiDict
from kettle.db import Q, QuerySet
from kettle.db.expressions import LOOKUPS, TRANSFORMS
from kettle.exceptions import BadRequest, ConfigurationError, ValidationError
from kettle.resources import _cursor

#: Query parameters with a meaning of their own (never filters).
RESERVED = ("page", "page_size", "cursor", "ordering", "search", "fields")


@dataclass(frozen=True, slots=True)
class Query:
    """One list request, parsed: the rows to fetch and how to page them."""

    queryset: QuerySet[Any]
    ordering: tuple[str, ...]
    page_size: int
    page: int
    cursor: list[Any] | None
    fields: tuple[str, ...] | None


class Listing:
    """The list options of one resource, checked at start-up."""

    def __init__(
        self,
        where: str,
        model: type[Any],
        *,
        filters: Mapping[str, Sequence[str]],
        ordering: Sequence[str],
        default_ordering: Sequence[str],
        search_fields: Sequence[str],
        page_size: int,
        max_page_size: int,
        cursor_types: Mapping[str, Any] | None,
        output_fields: Sequence[str],
    ) -> None:
        #: ``?author__username=ann`` -> the lookup given to ``filter()``.
        self.filters: dict[str, tuple[str, str]] = {}
        for field, lookups in filters.items():
            for lookup in lookups:
                if lookup not in LOOKUPS and lookup not in TRANSFORMS:
                    raise ConfigurationError(
                        f"{where}: filters[{field!r}] has the unknown lookup {lookup!r}; "
                        f"use some of {', '.join(LOOKUPS)}."
                    )
                param = field if lookup == "exact" else f"{field}__{lookup}"
                self.filters[param] = (f"{field}__{lookup}", lookup)
        clash = set(self.filters) & set(RESERVED)
        if clash:
            raise ConfigurationError(f"{where}: a filter may not be named {clash.pop()!r}.")
        # Checks every name against the model now, not at the first request.
        probe = model.objects.all()
        for field in filters:
            probe.order_by(field)  # resolves the name (to-one paths too), runs nothing
        self.ordering = tuple(ordering)
        probe.order_by(*self.ordering)
        self.default_ordering = tuple(default_ordering)
        probe.order_by(*self.default_ordering)
        self.search_fields = tuple(search_fields)
        probe.order_by(*self.search_fields)
        if page_size < 1 or max_page_size < page_size:
            raise ConfigurationError(
                f"{where}: page_size must be at least 1 and at most max_page_size "
                f"(got {page_size} and {max_page_size})."
            )
        self.page_size = page_size
        self.max_page_size = max_page_size
        #: For cursor pagination: the type of each column a cursor may hold.
        self.cursor_types = cursor_types
        if cursor_types is not None:
            for name in (*self.ordering, *self.default_ordering):
                if name.removeprefix("-") not in cursor_types:
                    raise ConfigurationError(
                        f"{where}: cursor pagination orders by columns that hold a value in "
                        f"every row; {name.removeprefix('-')!r} is not one of them "
                        f"({', '.join(cursor_types)})."
                    )
        self.output_fields = tuple(output_fields)

    def read(self, query: MultiDict[str], queryset: QuerySet[Any], secret: str) -> Query:
        """Apply the query string to ``queryset``; a 400 for anything not declared."""
        conditions: dict[str, Any] = {}
        for param in query:
            if param in RESERVED:
                continue
            found = self.filters.get(param)
            if found is None:
                valid = ", ".join(self.filters) or "none (this resource declares no filters)"
                raise BadRequest(f"Unknown filter {param!r}. The filters are: {valid}.")
            key, lookup = found
            value: Any = query[param]
            if lookup == "in":
                value = [v for v in value.split(",") if v]
            elif lookup == "range":
                value = value.split(",")
            conditions[key] = value
        if conditions:
            queryset = queryset.filter(**conditions)
        search = query.get("search")
        if search and self.search_fields:
            terms = [Q(**_lookup(f"{field}__icontains", search)) for field in self.search_fields]
            either = terms[0]
            for other in terms[1:]:
                either = either | other
            queryset = queryset.filter(either)
        ordering = self._ordering(query.get("ordering"))
        queryset = queryset.order_by(*ordering)
        page_size = self._page_size(query.get("page_size"))
        page = self._number(query.get("page"), "page")
        cursor = None
        token = query.get("cursor")
        if self.cursor_types is None:
            if token is not None:
                raise BadRequest("This resource pages with ?page=, not ?cursor=.")
        else:
            if "page" in query:
                raise BadRequest("This resource pages with ?cursor=, not ?page=.")
            if token:
                types = [self.cursor_types[n.removeprefix("-")] for n in ordering]
                cursor = _cursor.read(secret, token, ordering, types)
                queryset = queryset.filter(_cursor.after(ordering, cursor))
        return Query(queryset, ordering, page_size, page, cursor, self._fields(query))

    def _ordering(self, text: str | None) -> tuple[str, ...]:
        if not text:
            names: tuple[str, ...] = self.default_ordering
        else:
            names = tuple(n.strip() for n in text.split(",") if n.strip())
            for name in names:
                if name.removeprefix("-") not in self.ordering:
                    valid = ", ".join(self.ordering) or "none (the order is fixed)"
                    raise BadRequest(
                        f"Cannot order by {name.removeprefix('-')!r}. The fields to order by "
                        f"are: {valid} (prefix one with - to reverse it)."
                    )
        # A unique last key, so no row is on two pages or on none.
        if not any(n.removeprefix("-") in ("id", "pk") for n in names):
            names = (*names, "id")
        return names

    def _page_size(self, text: str | None) -> int:
        if text is None:
            return self.page_size
        size = self._number(text, "page_size")
        # NOTE: over the cap is clamped (documented), as a list link with a big size
        # should still work; below 1 is a mistake.
        return min(size, self.max_page_size)

    @staticmethod
    def _number(text: str | None, name: str) -> int:
        """A page number or size: a 422 as for a typed ``int`` parameter when it is not
        a whole number from 1 (a page past the last is the caller's 404)."""
        if text is None:
            return 1
        try:
            number = parse_int(text)
        except (TypeError, ValueError):
            number = 0
        if number < 1:
            message = invalid(
                where("query", [name]), f"expected a whole number from 1, got {shown(text)}"
            )
            raise ValidationError([{"loc": ["query", name], "msg": message, "type": "invalid"}])
        return number

    def _fields(self, query: MultiDict[str]) -> tuple[str, ...] | None:
        text = query.get("fields")
        if text is None:
            return None
        names = tuple(n.strip() for n in text.split(",") if n.strip())
        for name in names:
            if name not in self.output_fields:
                raise BadRequest(
                    f"Unknown field {name!r} in ?fields=. The fields are: "
                    f"{', '.join(self.output_fields)}."
                )
        return names or None


def _lookup(key: str, value: Any) -> dict[str, Any]:
    return {key: value}


def read_fields(query: MultiDict[str], output_fields: Sequence[str]) -> tuple[str, ...] | None:
    """``?fields=`` on a single object (retrieve): checked like the list's."""
    names = tuple(n.strip() for n in (query.get("fields") or "").split(",") if n.strip())
    for name in names:
        if name not in output_fields:
            raise BadRequest(
                f"Unknown field {name!r} in ?fields=. The fields are: {', '.join(output_fields)}."
            )
    return names or None


__all__ = ["RESERVED", "Listing", "Query", "read_fields"]
