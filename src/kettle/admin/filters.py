"""The filters of a list page's sidebar, one per name in ``list_filter``.

The field's type picks the filter: booleans (yes/no), fields with choices and enums
(one link per choice), relations (one link per related row) and dates and timestamps
(today, past 7 days, this month, this year, or a from/to range). Each reads its own
query parameters only (``status__exact=draft``, ``created__gte=2024-05-01``) and refuses a
value that does not fit with a 400 that says why::

    ListFilter.for_field(ArticleAdmin, "status").apply(queryset, {"status__exact": "draft"})
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kettle import timezones
from kettle._integers import parse_int
from kettle.admin._display import object_repr, pk_text
from kettle.admin._fields import FieldSpec, field_spec
from kettle.admin.options import spec_label
from kettle.db import QuerySet
from kettle.exceptions import BadRequest, ConfigurationError
from kettle.i18n._gettext import gettext as _

#: Related rows offered by a relation filter.
RELATED_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Choice:
    """One link of a filter: its label, the parameters it sets (``None`` removes one)
    and whether it is the one in force."""

    #: The link's text: ``"All"``, ``"Yes"``, a choice's label, a related object's name.
    label: str
    #: The list-page query parameters the link sets, merged into the current query
    #: (``{"status__exact": "draft"}``); a None value removes that parameter.
    params: Mapping[str, str | None]
    #: Whether this choice is the one in force now (the page highlights it).
    selected: bool


class ListFilter:
    """A filter over one field (see the module docstring); subclasses say which values
    it offers (``choices``) and how they narrow the rows (``apply``)."""

    #: ``"date"`` filters also get a from/to form on the page.
    kind = "links"

    def __init__(self, spec: FieldSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.title = spec_label(spec)

    @classmethod
    def for_field(cls, model: Any, name: str) -> ListFilter:
        """The filter for ``model``'s field ``name``; a field no filter suits is a
        configuration error (check id ``admin.E103``)::

            ListFilter.for_field(Article, "created")   # a DateFilter
        """
        spec = field_spec(model, name)
        if spec is None or spec.many:
            raise ConfigurationError(
                f"[admin.E103] list_filter of {model.__name__} names {name!r}, which is not a "
                "column or to-one relation of the model."
            )
        if spec.target is not None:
            return RelatedFilter(spec)
        if spec.info is not None and spec.info.choices:
            return ChoicesFilter(spec)
        if spec.kind == "boolean":
            return BooleanFilter(spec)
        if spec.kind in ("date", "datetime"):
            return DateFilter(spec)
        raise ConfigurationError(
            f"[admin.E103] list_filter of {model.__name__} names {name!r}, a {spec.kind} field; "
            "filters work on booleans, choices, relations and dates."
        )

    @property
    def params(self) -> tuple[str, ...]:
        """The query parameters this filter reads."""
        return (f"{self.name}__exact",)

    def is_active(self, query: Mapping[str, str]) -> bool:
        """Whether any of its parameters is set."""
        return any(query.get(p) for p in self.params)

    def apply(self, queryset: QuerySet[Any], query: Mapping[str, str]) -> QuerySet[Any]:
        """``queryset`` narrowed by the parameters in ``query``."""
        raise NotImplementedError

    def choices(self, query: Mapping[str, str]) -> list[Choice]:
        """The links to show, the first being "All"."""
        raise NotImplementedError

    def _all(self, query: Mapping[str, str]) -> Choice:
        return Choice(_("All"), dict.fromkeys(self.params), not self.is_active(query))

    def _refuse(self, param: str, value: str, expected: str) -> BadRequest:
        message = _("The filter %(param)s=%(value)s is not valid: expected %(expected)s.")
        return BadRequest(message % {"param": param, "value": repr(value), "expected": expected})

    def _null_choice(self, query: Mapping[str, str]) -> list[Choice]:
        if not self.spec.nullable:
            return []
        param = f"{self.name}__isnull"
        others = {p: None for p in self.params if p != param}
        return [Choice(_("None"), {**others, param: "1"}, query.get(param) == "1")]

    def _null(self, queryset: QuerySet[Any], query: Mapping[str, str]) -> QuerySet[Any]:
        value = query.get(f"{self.name}__isnull")
        if not value:
            return queryset
        if value not in ("0", "1"):
            raise self._refuse(f"{self.name}__isnull", value, _("1 or 0"))
        return queryset.filter(**{f"{self.spec.column.key}__isnull": value == "1"})


class BooleanFilter(ListFilter):
    """Yes / No (and None for a nullable column): ``?featured__exact=1``."""

    @property
    def params(self) -> tuple[str, ...]:
        return (f"{self.name}__exact", f"{self.name}__isnull")

    def apply(self, queryset: QuerySet[Any], query: Mapping[str, str]) -> QuerySet[Any]:
        value = query.get(f"{self.name}__exact")
        if value:
            if value not in ("1", "0"):
                raise self._refuse(f"{self.name}__exact", value, _("1 (yes) or 0 (no)"))
            queryset = queryset.filter(**{self.name: value == "1"})
        return self._null(queryset, query)

    def choices(self, query: Mapping[str, str]) -> list[Choice]:
        param = f"{self.name}__exact"
        current = query.get(param)
        clear = {f"{self.name}__isnull": None}
        return [
            self._all(query),
            Choice(_("Yes"), {param: "1", **clear}, current == "1"),
            Choice(_("No"), {param: "0", **clear}, current == "0"),
            *self._null_choice(query),
        ]


class ChoicesFilter(ListFilter):
    """One link per choice of the field (enums included): ``?status__exact=draft``."""

    @property
    def params(self) -> tuple[str, ...]:
        return (f"{self.name}__exact", f"{self.name}__isnull")

    def _pairs(self) -> list[tuple[Any, str]]:
        assert self.spec.info is not None
        return list(self.spec.info.choices)

    def apply(self, queryset: QuerySet[Any], query: Mapping[str, str]) -> QuerySet[Any]:
        value = query.get(f"{self.name}__exact")
        if value:
            match = [raw for raw, _ in self._pairs() if str(raw) == value]
            if not match:
                allowed = ", ".join(str(raw) for raw, _ in self._pairs())
                expected = _("one of %(choices)s") % {"choices": allowed}
                raise self._refuse(f"{self.name}__exact", value, expected)
            enum_class = getattr(self.spec.column.type, "enum_class", None)
            chosen = enum_class(match[0]) if enum_class is not None else match[0]
            queryset = queryset.filter(**{self.name: chosen})
        return self._null(queryset, query)

    def choices(self, query: Mapping[str, str]) -> list[Choice]:
        param = f"{self.name}__exact"
        current = query.get(param)
        clear = {f"{self.name}__isnull": None}
        links = [
            Choice(label, {param: str(raw), **clear}, current == str(raw))
            for raw, label in self._pairs()
        ]
        return [self._all(query), *links, *self._null_choice(query)]


class RelatedFilter(ListFilter):
    """One link per related row (the first ``RELATED_LIMIT``), by id."""

    def __init__(self, spec: FieldSpec, label: Callable[[Any], str] = object_repr) -> None:
        super().__init__(spec)
        self.label = label

    @property
    def params(self) -> tuple[str, ...]:
        return (f"{self.name}__id__exact", f"{self.name}__isnull")

    def apply(self, queryset: QuerySet[Any], query: Mapping[str, str]) -> QuerySet[Any]:
        param = f"{self.name}__id__exact"
        value = query.get(param)
        if value:
            try:
                number = parse_int(value)
            except ValueError:
                raise self._refuse(
                    param, value, _("the id of a related row (a whole number)")
                ) from None
            # An id no row can have (beyond the column's range) matches nothing.
            queryset = queryset.filter(**{self.spec.column.key: number})
        return self._null(queryset, query)

    def choices(self, query: Mapping[str, str]) -> list[Choice]:
        assert self.spec.target is not None
        param = f"{self.name}__id__exact"
        current = query.get(param)
        clear = {f"{self.name}__isnull": None}
        rows = list(self.spec.target.objects.all()[:RELATED_LIMIT])
        links = []
        for row in rows:
            pk = pk_text(row)
            links.append(Choice(self.label(row), {param: pk, **clear}, current == pk))
        return [self._all(query), *links, *self._null_choice(query)]


class DateFilter(ListFilter):
    """Today, the past 7 days, this month, this year, or any range of days, in the user's
    time zone (``kettle.timezones``):
    ``created__gte=2024-05-01`` (from), ``created__lte=2024-05-31`` (to, included) and
    ``created__lt=2024-06-01`` (before)."""

    kind = "date"

    @property
    def params(self) -> tuple[str, ...]:
        name = self.name
        return (f"{name}__gte", f"{name}__lt", f"{name}__lte", f"{name}__isnull")

    def _bound(self, param: str, value: str) -> Any:
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError:
            raise self._refuse(param, value, _("a date as YYYY-MM-DD")) from None
        if self.spec.kind == "datetime":  # the local midnight that starts the day
            return dt.datetime.combine(day, dt.time(), tzinfo=timezones.current_zone())
        return day

    def apply(self, queryset: QuerySet[Any], query: Mapping[str, str]) -> QuerySet[Any]:
        column = self.spec.column.key
        for suffix in ("gte", "lt", "lte"):
            param = f"{self.name}__{suffix}"
            value = query.get(param)
            if not value:
                continue
            bound = self._bound(param, value)
            if suffix == "lte" and isinstance(bound, dt.datetime):
                if bound.date() == dt.date.max:  # no day after it: every stamp is before
                    queryset = queryset.filter(**{f"{column}__isnull": False})
                    continue
                suffix, bound = "lt", bound + dt.timedelta(days=1)  # the whole last day
            if isinstance(bound, dt.datetime):
                bound = bound.astimezone(dt.UTC)  # NOTE: after the local day was added
            queryset = queryset.filter(**{f"{column}__{suffix}": bound})
        return self._null(queryset, query)

    def ranges(self, today: dt.date | None = None) -> list[tuple[str, dt.date, dt.date]]:
        """The ready-made ranges, as ``(label, first day, day after the last)``."""
        today = today or dt.datetime.now(timezones.current_zone()).date()
        month = today.replace(day=1)
        next_month = (month + dt.timedelta(days=32)).replace(day=1)
        year = today.replace(month=1, day=1)
        tomorrow = today + dt.timedelta(days=1)
        return [
            (_("Today"), today, tomorrow),
            (_("Past 7 days"), today - dt.timedelta(days=6), tomorrow),
            (_("This month"), month, next_month),
            (_("This year"), year, year.replace(year=year.year + 1)),
        ]

    def choices(self, query: Mapping[str, str]) -> list[Choice]:
        gte, lt = f"{self.name}__gte", f"{self.name}__lt"
        clear = {f"{self.name}__isnull": None, f"{self.name}__lte": None}
        links = [
            Choice(
                label,
                {gte: start.isoformat(), lt: end.isoformat(), **clear},
                query.get(gte) == start.isoformat() and query.get(lt) == end.isoformat(),
            )
            for label, start, end in self.ranges()
        ]
        return [self._all(query), *links, *self._null_choice(query)]


__all__ = [
    "RELATED_LIMIT",
    "BooleanFilter",
    "Choice",
    "ChoicesFilter",
    "DateFilter",
    "ListFilter",
    "RelatedFilter",
]
