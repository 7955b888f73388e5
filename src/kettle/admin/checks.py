"""Checks of a ``ModelAdmin``'s options, run when the app starts.

Each problem names the admin, the option and the bad value, with a stable id to search
for: ``[admin.E101]`` list_display, ``E102`` search_fields, ``E103`` list_filter,
``E104`` ordering, ``E105`` fields and readonly_fields, ``E106`` autocomplete_fields,
``E107`` inlines, ``E108`` actions, ``E109`` a malformed fieldsets, ``E110`` fields and
fieldsets together, ``E111`` a fieldsets name that is not a field, ``E112`` a field that
fieldsets lists twice, ``E113`` an attribute that is no option (a typo, or a Django
option Kettle does not have)::

    check_admin(ArticleAdmin(Article, site))
    # ["[admin.E101] ArticleAdmin.list_display: 'titel' is neither a field ..."]
"""

from __future__ import annotations

import difflib
from typing import Any

from kettle.admin._fields import field_spec
from kettle.admin.actions import as_action
from kettle.admin.changelist import search_condition
from kettle.admin.fieldsets import fieldset_problems
from kettle.admin.filters import ListFilter
from kettle.admin.inlines import InlineModelAdmin
from kettle.admin.options import BaseModelAdmin, ModelAdmin
from kettle.db import FieldError
from kettle.exceptions import ConfigurationError


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


def _fieldsets(admin: ModelAdmin, owner: str) -> list[str]:
    cls = type(admin)
    if cls.fieldsets is None:
        return []
    problems = []
    if cls.fields is not None:
        problems.append(
            f"[admin.E110] {owner}: fields and fieldsets both say which fields the form "
            "shows; keep one (fieldsets, to have sections)."
        )
    sections, malformed = fieldset_problems(cls.fieldsets)
    problems += [f"[admin.E109] {owner}.{problem}" for problem in malformed]
    seen: set[str] = set()
    for index, section in enumerate(sections):
        where = f"{owner}.fieldsets[{index}]" + (
            f" ({section.title!r})" if section.title is not None else ""
        )
        for name in section.names:
            if name in seen:
                problems.append(
                    f"[admin.E112] {where}: {name!r} is listed twice; a field is on the form "
                    "once, so keep one."
                )
            seen.add(name)
            if field_spec(admin.model, name) is not None or name in cls.readonly_fields:
                continue
            try:
                admin.lookup(name, None)
            except LookupError:
                problems.append(
                    f"[admin.E111] {where}: {name!r} is not a field of {admin.model.__name__}."
                )
            else:
                problems.append(
                    f"[admin.E111] {where}: {name!r} is computed; list it in readonly_fields too."
                )
    return problems


#: Django admin options Kettle's admin does not have: setting one is reported, not ignored.
_DJANGO_ONLY = frozenset(
    {
        "actions_on_bottom", "actions_on_top", "actions_selection_counter", "add_form_template",
        "date_hierarchy", "empty_value_display", "filter_horizontal", "filter_vertical",
        "form", "formfield_overrides", "formset", "list_editable", "list_max_show_all",
        "list_select_related", "min_num", "paginator", "popup_response_template",
        "prepopulated_fields", "preserve_filters", "radio_fields", "raw_id_fields", "save_as",
        "save_as_continue", "save_on_top", "search_help_text", "show_change_link",
        "show_facets", "show_full_result_count", "sortable_by", "view_on_site",
    }
)  # fmt: skip


def _unknown_options(admin: BaseModelAdmin, owner: str, base: type[Any]) -> list[str]:
    """Plain attributes of the project's admin classes that look like options but are
    none: a near miss of an option's name, or a Django option Kettle does not have."""
    known = {n for n in dir(base) if not n.startswith("_")}
    problems = []
    for cls in type(admin).__mro__:
        if not issubclass(cls, base) or cls.__module__.startswith("kettle."):
            continue
        for name, value in vars(cls).items():
            if name.startswith("_") or name in known or callable(value):
                continue
            if isinstance(value, property | classmethod | staticmethod):
                continue
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            if name in _DJANGO_ONLY:
                hint = " (a Django admin option that Kettle's admin does not have; remove it)"
            elif close:
                hint = f"; did you mean {close[0]}?"
            else:
                continue
            problems.append(
                f"[admin.E113] {owner}.{name} is not an option of {base.__name__}{hint}"
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
    problems += _fieldsets(admin, owner)
    problems += _unknown_options(admin, owner, ModelAdmin)
    for inline in cls.inlines:
        try:
            made: Any = inline(model, admin.site)
        except ConfigurationError as error:
            problems.append(f"{error} (in {owner}.inlines)")
            continue
        problems += _fields(made, type(made).__name__)
        problems += _unknown_options(made, type(made).__name__, InlineModelAdmin)
    for item in cls.actions:
        try:
            as_action(item, admin)
        except (LookupError, TypeError) as error:
            problems.append(f"[admin.E108] {owner}.actions: {error}")
    return problems


__all__ = ["check_admin"]
