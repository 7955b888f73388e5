"""Checks of a ``ModelAdmin``'s options, run when the app starts.

Each problem names the admin, the option and the bad value, with a stable id to search
for: ``[admin.E101]`` list_display, ``E102`` search_fields, ``E103`` list_filter,
``E104`` ordering, ``E105`` fields and readonly_fields, ``E106`` autocomplete_fields,
``E107`` inlines, ``E108`` actions::

    check_admin(ArticleAdmin(Article, site))
    # ["[admin.E101] ArticleAdmin.list_display: 'titel' is neither a field ..."]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kettle.admin._fields import field_spec
from kettle.admin.actions import as_action
from kettle.admin.changelist import search_condition
from kettle.admin.filters import ListFilter
from kettle.db import FieldError
from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from kettle.admin.options import BaseModelAdmin, ModelAdmin


def _fields(admin: BaseModelAdmin, owner: str) -> list[str]:
    problems = []
    cls = type(admin)
    for option in ("fields", "readonly_fields", "exclude"):
        for name in getattr(cls, option) or ():
            if field_spec(admin.model, name) is not None:
                continue
            if option != "exclude":
                try:
                    admin.lookup(name, None)
                    if option == "readonly_fields" or name in cls.readonly_fields:
                        continue
                except LookupError:
                    pass
            problems.append(
                f"[admin.E105] {owner}.{option}: {name!r} is not a field of "
                f"{admin.model.__name__}"
                + (" (computed values go in readonly_fields)" if option == "fields" else "")
                + "."
            )
    for name in cls.autocomplete_fields:
        spec = field_spec(admin.model, name)
        if spec is None or spec.target is None or spec.many:
            problems.append(
                f"[admin.E106] {owner}.autocomplete_fields: {name!r} is not a to-one relation "
                f"of {admin.model.__name__}."
            )
            continue
        target = admin.site.admin_for(spec.target)
        if target is None or not type(target).search_fields:
            problems.append(
                f"[admin.E106] {owner}.autocomplete_fields: {name!r} needs "
                f"{spec.target.__name__} registered in the admin with search_fields."
            )
    return problems


def check_admin(admin: ModelAdmin) -> list[str]:
    """The problems of ``admin``'s options (see the module docstring)."""
    owner = type(admin).__name__
    model = admin.model
    cls = type(admin)
    problems = []
    for name in cls.list_display:
        try:
            admin.lookup(name, None)
        except LookupError as error:
            problems.append(f"[admin.E101] {owner}.list_display: {error}")
        spec = field_spec(model, name)
        if spec is not None and spec.many:
            problems.append(
                f"[admin.E101] {owner}.list_display: {name!r} is a many-to-many link, which "
                "a list cannot show in one query; use a method of the admin instead."
            )
    condition = search_condition(list(cls.search_fields), "x")
    if condition is not None:
        try:
            condition.resolve(model)
        except FieldError as error:
            problems.append(f"[admin.E102] {owner}.search_fields: {error.detail}")
    for name in cls.list_filter:
        try:
            ListFilter.for_field(model, name)
        except ConfigurationError as error:
            problems.append(str(error))
    try:
        model.objects.order_by(*cls.ordering)
    except FieldError as error:
        problems.append(f"[admin.E104] {owner}.ordering: {error.detail}")
    problems += _fields(admin, owner)
    for inline in cls.inlines:
        try:
            made: Any = inline(model, admin.site)
        except ConfigurationError as error:
            problems.append(f"{error} (in {owner}.inlines)")
            continue
        problems += _fields(made, type(made).__name__)
    for item in cls.actions:
        try:
            as_action(item, admin)
        except (LookupError, TypeError) as error:
            problems.append(f"[admin.E108] {owner}.actions: {error}")
    return problems


__all__ = ["check_admin"]
