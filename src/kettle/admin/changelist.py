"""The rows of a list page: search, filters, sorting and pages, read from the query string.

Query parameters: ``q`` (search), ``o`` (sort: a column name, ``-`` in front for
descending), ``p`` (page, from 1) and each filter's own (see ``kettle.admin.filters``).
A sort key outside the sortable columns or a bad page number is a 400, never a 500.

A page runs a constant number of statements whatever the table's size: a count that
stops at ``list_max_count`` rows, and one SELECT of ``list_per_page + 1`` rows (the extra
row says whether a next page exists) with the related objects shown joined in::

    cl = ChangeList(article_admin, request)
    cl.rows, cl.count, cl.has_next
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import sqlalchemy as sa

from kettle._integers import parse_int
from kettle.admin._display import NAME_HINTS, display_value, pk_text
from kettle.admin._fields import field_spec
from kettle.admin.filters import ListFilter, RelatedFilter
from kettle.db import Q, QuerySet
from kettle.exceptions import BadRequest
from kettle.i18n._gettext import gettext as _

if TYPE_CHECKING:
    from kettle.admin.options import ModelAdmin
    from kettle.requests import Request

SEARCH, ORDER, PAGE = "q", "o", "p"
#: The longest search accepted (each word becomes a condition on every search field).
MAX_SEARCH = 200
#: Control characters: no link or form of the admin sends them, and PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def checked_query(query: Mapping[str, str]) -> dict[str, str]:
    """``query`` if no parameter holds a control character, else a 400 naming it::

    checked_query({"q": "tea"})              # {"q": "tea"}
    checked_query({"q": "tea" + chr(0)})     # BadRequest naming the parameter q
    """
    for key, value in query.items():
        if _CONTROL.search(key) or _CONTROL.search(value):
            message = _(
                "The query parameter %(key)s holds a control character (such as NUL); "
                "remove it from the address."
            )
            raise BadRequest(message % {"key": repr(key)})
    return dict(query)


def page_number(raw: str, param: str = PAGE) -> int:
    """A page number from the query string (from 1, ASCII digits), else a 400::

    page_number("2")   # 2
    """
    try:
        number = parse_int(raw)
    except ValueError:
        number = 0
    if number < 1:
        message = _("The page number %(param)s must be a whole number from 1, not %(raw)s.")
        raise BadRequest(message % {"param": param, "raw": repr(raw)})
    return number


@dataclass(frozen=True, slots=True)
class Header:
    """A column heading: its label and, when sortable, the URL that sorts by it and how
    it is sorted now (``"ascending"``, ``"descending"`` or None)."""

    #: The column's entry in ``list_display``: a field name (``"title"``) or the name of
    #: a method or function.
    name: str
    #: The heading shown: the field's verbose name or the method's description.
    label: str
    #: The query string (``"?o=-title"``) that sorts by the column, or the other way
    #: when it is sorted already; None when the column cannot be sorted.
    sort_url: str | None
    #: How the list is sorted by this column now, as ``aria-sort`` names it:
    #: ``"ascending"``, ``"descending"``, or None when it is not.
    sorted: str | None


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: its text, whether it is a yes/no value, a link to the object, and what
    kind of value it shows (``text``, ``number`` or ``date``; the page keeps numbers and
    dates on one line)::

    Cell("Steam", None, "/admin/article/7/change")
    """

    #: The value as shown (see ``display_value``): a choice's label, a UTC timestamp
    #: (``"2024-05-01 09:30 UTC"``), ``"—"`` for None.
    text: str
    #: True or False when the value is a yes/no one (the page shows an icon instead of
    #: the text); None otherwise.
    boolean: bool | None
    #: The object's change page when this column links to it (``list_display_links``);
    #: None for a plain cell.
    url: str | None
    #: ``"text"``, ``"number"`` or ``"date"``: the CSS class the page aligns and wraps
    #: the cell by.
    kind: str = "text"


@dataclass(frozen=True, slots=True)
class Row:
    """One object of the page with its cells and primary key (for the action checkbox)::

    Row("7", article, [Cell("Steam", None, "/admin/article/7/change")])
    """

    #: The object's primary key as text: the value of its row's action checkbox.
    pk: str
    #: The model instance itself, for templates that show more than the cells.
    obj: Any
    #: One cell per ``list_display`` entry, in the same order as the headers.
    cells: list[Cell]


def search_condition(fields: list[str], text: str) -> Q | None:
    """Every word of ``text`` must be in one of ``fields`` (case-insensitive); ``^name``
    matches the start and ``=name`` the whole value::

        search_condition(["title", "author__username"], "tea ann")
    """
    words = text.split()
    if not words or not fields:
        return None
    condition = Q()
    for word in words:
        either = None
        for name in fields:
            lookups: dict[str, Any] = {_search_lookup(name): word}
            part = Q(**lookups)
            either = part if either is None else either | part
        assert either is not None
        condition = condition & either
    return condition


def _search_lookup(name: str) -> str:
    if name.startswith("^"):
        return f"{name[1:]}__istartswith"
    if name.startswith("="):
        return f"{name[1:]}__iexact"
    return f"{name}__icontains"


class ChangeList:
    """The list page's state and rows (see the module docstring)::

    cl = ChangeList(article_admin, request)   # GET /admin/article/?q=tea&o=-created
    [row.cells[0].text for row in cl.rows]
    """

    def __init__(self, admin: ModelAdmin, request: Request) -> None:
        self.admin = admin
        self.request = request
        self.query: Mapping[str, str] = checked_query(
            {k: request.query.get(k, "") for k in request.query}
        )
        self.search = self.query.get(SEARCH, "").strip()
        if len(self.search) > MAX_SEARCH:
            message = _(
                "Search for at most %(limit)d characters (this search has %(length)d); use "
                "fewer or shorter words."
            )
            raise BadRequest(message % {"limit": MAX_SEARCH, "length": len(self.search)})
        self.list_display = admin.get_list_display(request)
        self.links = set(admin.get_list_display_links(request, self.list_display))
        self.search_fields = admin.get_search_fields(request)
        self.filters = [self._filter(name) for name in admin.get_list_filter(request)]
        #: Each filter with its links (relation filters query their rows once, here).
        self.filter_panels = [(f, f.choices(self.query)) for f in self.filters]
        self.sortable = self._sortable()
        self.sort = self._sort()
        self.per_page = max(1, admin.list_per_page)
        self.page = self._page()
        queryset = self.filtered(admin.get_queryset(request))
        self.count, self.count_is_exact = self._count(queryset)
        self.rows, self.has_next = self._rows(queryset)

    # --- reading the query string ---------------------------------------------------------
    def _filter(self, name: str) -> ListFilter:
        made = ListFilter.for_field(self.admin.model, name)
        if isinstance(made, RelatedFilter) and made.spec.target is not None:
            target = self.admin.site.admin_for(made.spec.target)
            if target is not None:
                made.label = target.object_repr
        return made

    def _sortable(self) -> dict[str, str]:
        """Column name -> what ``order_by`` gets for it."""
        found: dict[str, str] = {}
        for name in self.list_display:
            spec = field_spec(self.admin.model, name)
            if spec is not None and not spec.many:
                found[name] = _relation_sort(spec.target, name) if spec.target else name
                continue
            method = getattr(self.admin, name, None) or getattr(self.admin.model, name, None)
            order_field = getattr(method, "admin_order_field", None)
            if isinstance(order_field, str):
                found[name] = order_field
        return found

    def _sort(self) -> tuple[str, bool] | None:
        """The column chosen in ``o`` and whether descending, or None for the default."""
        raw = self.query.get(ORDER, "").strip()
        if not raw:
            return None
        name, descending = raw.removeprefix("-"), raw.startswith("-")
        if name not in self.sortable:
            choices = ", ".join(self.sortable) or _("none")
            message = _("Cannot sort %(names)s by %(column)s; sortable columns: %(choices)s.")
            values = {"names": self.admin.name_plural, "column": repr(name), "choices": choices}
            raise BadRequest(message % values)
        return name, descending

    def ordering(self) -> list[str]:
        """What the rows are ordered by: the chosen column, then the default ordering,
        then the primary key (so that pages never overlap)."""
        default = self.admin.get_ordering(self.request)
        order: list[str] = []
        if self.sort is not None:
            name, descending = self.sort
            key = self.sortable[name]
            order.append(("-" + key) if descending else key)
        for name in default:
            if name.removeprefix("-") not in {o.removeprefix("-") for o in order}:
                order.append(name)
        if not {o.removeprefix("-") for o in order} & {"pk", self._pk_name()}:
            descending = bool(order) and order[-1].startswith("-")
            order.append("-pk" if descending or not order else "pk")
        return order

    def _pk_name(self) -> str:
        return str(sa.inspect(self.admin.model).primary_key[0].key)

    def _page(self) -> int:
        return page_number(self.query.get(PAGE, "1").strip() or "1")

    # --- the rows -----------------------------------------------------------------------------
    def filtered(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """``queryset`` narrowed by the filters and the search."""
        for made in self.filters:
            queryset = made.apply(queryset, self.query)
        condition = search_condition(self.search_fields, self.search)
        if condition is not None:
            queryset = queryset.filter(condition)
        return queryset

    def _count(self, queryset: QuerySet[Any]) -> tuple[int, bool]:
        cap = self.admin.list_max_count
        if cap is None:
            return queryset.count(), True
        # PERF: count at most cap + 1 rows; COUNT(*) of a huge table reads all of it.
        counted = queryset[: cap + 1].count()
        return min(counted, cap), counted <= cap

    def _rows(self, queryset: QuerySet[Any]) -> tuple[list[Row], bool]:
        joined = [
            name
            for name in self.list_display
            if (spec := field_spec(self.admin.model, name)) is not None
            and spec.target
            and not spec.many
        ]
        ordered = queryset.order_by(*self.ordering())
        if joined:
            ordered = ordered.select_related(*joined)
        start = (self.page - 1) * self.per_page
        found = list(ordered[start : start + self.per_page + 1])
        if not found and self.page > 1:
            message = _("There is no page %(page)d of %(names)s; go back to page 1.")
            raise BadRequest(message % {"page": self.page, "names": self.admin.name_plural})
        rows = [self._row(obj) for obj in found[: self.per_page]]
        return rows, len(found) > self.per_page

    def _row(self, obj: Any) -> Row:
        cells = []
        url = self.admin.site.object_url(self.request, self.admin, obj)
        for name in self.list_display:
            _, value, info = self.admin.lookup(name, obj)
            boolean = value if isinstance(value, bool) else None
            text = display_value(value, info)
            link = url if name in self.links else None
            cells.append(Cell(text, boolean, link, _kind(value)))
        return Row(pk_text(obj), obj, cells)

    # --- URLs and headings ------------------------------------------------------------------
    def url(self, changes: Mapping[str, str | None] | None = None, keep_page: bool = False) -> str:
        """The list URL with ``changes`` applied to the current query (None removes a
        parameter); any change but the page goes back to page 1."""
        params = dict(self.query)
        if not keep_page:
            params.pop(PAGE, None)
        for key, value in (changes or {}).items():
            if value is None or value == "":
                params.pop(key, None)
            else:
                params[key] = value
        query = urlencode(sorted(params.items()))
        return "?" + query if query else "?"

    def page_url(self, number: int) -> str:
        """The URL of page ``number`` with the current search, filters and sort."""
        return self.url({PAGE: str(number) if number > 1 else None}, keep_page=True)

    def headers(self) -> list[Header]:
        """The column headings, with sort links where the column is sortable."""
        made = []
        for name in self.list_display:
            label = self.admin.lookup(name, None)[0]
            if name not in self.sortable:
                made.append(Header(name, label, None, None))
                continue
            now = None
            if self.sort is not None and self.sort[0] == name:
                now = "descending" if self.sort[1] else "ascending"
            target = "-" + name if now == "ascending" else name
            made.append(Header(name, label, self.url({ORDER: target}), now))
        return made

    @property
    def num_pages(self) -> int | None:
        """How many pages there are, or None when the count stopped at its cap."""
        if not self.count_is_exact:
            return None
        return max(1, -(-self.count // self.per_page))

    def page_numbers(self) -> list[int | None]:
        """Page numbers to link, with None for a gap: ``[1, None, 4, 5, 6, None, 20]``."""
        total = self.num_pages
        if total is None:
            return []
        wanted = {1, 2, total - 1, total, *range(self.page - 2, self.page + 3)}
        shown = sorted(n for n in wanted if 1 <= n <= total)
        made: list[int | None] = []
        for number in shown:
            if made and made[-1] is not None and number - made[-1] > 1:
                made.append(None)
            made.append(number)
        return made

    @property
    def is_filtered(self) -> bool:
        """Whether a search or filter narrows the rows."""
        return bool(self.search) or any(f.is_active(self.query) for f in self.filters)


def _kind(value: Any) -> str:
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
        return "number"
    return "text"


def _relation_sort(target: Any, name: str) -> str:
    """Sort a relation column by the related row's name-like column, else by its id."""
    columns = {c.key for c in target.__table__.columns if isinstance(c.type, sa.String)}
    for hint in NAME_HINTS:
        if hint in columns:
            return f"{name}__{hint}"
    return name


__all__ = [
    "MAX_SEARCH",
    "Cell",
    "ChangeList",
    "Header",
    "Row",
    "checked_query",
    "page_number",
    "search_condition",
]
