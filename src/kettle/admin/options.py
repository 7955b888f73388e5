"""``ModelAdmin``: how one model shows in the admin, by class attributes and ``get_*``
hooks that receive the request (and the object, where there is one).

::

    @site.register(Article)
    class ArticleAdmin(ModelAdmin):
        list_display = ["title", "author", "status", "created"]
        search_fields = ["title", "author__username"]
        list_filter = ["status", "author", "created"]
        readonly_fields = ["created"]
        autocomplete_fields = ["author"]
        inlines = [CommentInline]
        actions = [publish]

        def get_queryset(self, request):
            return super().get_queryset(request).filter(site=request.state.site)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from kettle.admin._display import (
    capfirst,
    display_value,
    field_label,
    object_repr,
    pk_text,
    verbose_name,
    verbose_name_plural,
)
from kettle.admin._fields import FieldSpec, FormField, field_names, field_spec, form_field
from kettle.admin.actions import Action, as_action, delete_selected
from kettle.admin.fieldsets import Fieldsets, flatten_fieldsets, read_fieldsets
from kettle.admin.forms import ModelForm, ReadonlyField
from kettle.db import Model, QuerySet

if TYPE_CHECKING:
    from kettle.admin.site import AdminSite
    from kettle.requests import Request

#: Related rows offered in a relation's <select>; past it, use ``autocomplete_fields``.
CHOICES_LIMIT = 500


class BaseModelAdmin:
    """What ``ModelAdmin`` and inlines share: which fields a form shows and how.

    ``fields`` lists them in order (default: every editable field), ``exclude`` drops
    some, ``readonly_fields`` shows some without letting anyone change them (a name may
    also be a method of the admin taking the object)::

        readonly_fields = ["created", "word_count"]

        def word_count(self, obj):
            return len(obj.body.split())
    """

    model: ClassVar[type[Model]]
    #: The form's fields, in order; None: every editable column and relation.
    fields: ClassVar[Sequence[str] | None] = None
    #: Fields left out of the form.
    exclude: ClassVar[Sequence[str]] = ()
    #: Fields shown on the form but not editable (columns, or methods of the admin).
    readonly_fields: ClassVar[Sequence[str]] = ()
    #: Relations picked with a search box instead of a list of every row.
    autocomplete_fields: ClassVar[Sequence[str]] = ()
    #: The model's name in the admin (default: from the class name).
    verbose_name: ClassVar[str | None] = None
    #: The plural of ``verbose_name`` (default: it with an ``s``).
    verbose_name_plural: ClassVar[str | None] = None

    def __init__(self, model: type[Model], site: AdminSite) -> None:
        self.model = model  # type: ignore[misc]
        self.site = site

    # --- names -----------------------------------------------------------------------------
    @property
    def slug(self) -> str:
        """The model's part of admin URLs: its table name (``/admin/article/``)."""
        return str(self.model.__tablename__)

    @property
    def name(self) -> str:
        """The model's name in words: ``verbose_name``, else from the class name."""
        return type(self).verbose_name or verbose_name(self.model)

    @property
    def name_plural(self) -> str:
        """The plural of ``name``: ``verbose_name_plural``, else guessed."""
        return type(self).verbose_name_plural or verbose_name_plural(self.model)

    def object_repr(self, obj: Any) -> str:
        """How an object is named on pages and in the history (its ``__str__`` if the
        model has one)::

            def object_repr(self, obj):
                return f"{obj.title} ({obj.author.username})"
        """
        return object_repr(obj)

    # --- permissions -------------------------------------------------------------------------
    def has_view_permission(self, request: Request, obj: Any = None) -> bool:
        """``<table>.view`` or ``<table>.change`` (who may change may look)."""
        return self.site.has_perm(request, self.model, "view", obj) or self.site.has_perm(
            request, self.model, "change", obj
        )

    def has_add_permission(self, request: Request) -> bool:
        """``<table>.add``."""
        return self.site.has_perm(request, self.model, "add")

    def has_change_permission(self, request: Request, obj: Any = None) -> bool:
        """``<table>.change``."""
        return self.site.has_perm(request, self.model, "change", obj)

    def has_delete_permission(self, request: Request, obj: Any = None) -> bool:
        """``<table>.delete``."""
        return self.site.has_perm(request, self.model, "delete", obj)

    # --- rows --------------------------------------------------------------------------------
    def get_queryset(self, request: Request) -> QuerySet[Any]:
        """The rows this admin shows and edits; narrow it per user here::

        def get_queryset(self, request):
            return super().get_queryset(request).filter(author=request.user)
        """
        return self.model.objects.all()

    # --- forms -------------------------------------------------------------------------------
    def get_fields(self, request: Request, obj: Any = None) -> list[str]:
        """The names the form shows, in order (editable and read-only ones)."""
        if type(self).fields is not None:
            return list(type(self).fields or ())
        readonly = set(self.get_readonly_fields(request, obj))
        names = []
        for name in field_names(self.model):
            spec = field_spec(self.model, name)
            if name in type(self).exclude or spec is None:
                continue
            if spec.editable or name in readonly:
                names.append(name)
        names += [n for n in self.get_readonly_fields(request, obj) if n not in names]
        return names

    def get_readonly_fields(self, request: Request, obj: Any = None) -> list[str]:
        """Names shown but never written; columns with ``editable=False`` always are."""
        return list(type(self).readonly_fields)

    def get_form(
        self, request: Request, obj: Any, *, editable: bool = True, prefix: str = ""
    ) -> ModelForm:
        """The form for ``obj`` (a new, unsaved one on the add page); with
        ``editable=False`` every field is read-only (a user who may only view)."""
        return self._form(request, obj, self.get_fields(request, obj), editable, prefix)

    def _form(
        self, request: Request, obj: Any, order: list[str], editable: bool, prefix: str
    ) -> ModelForm:
        """The form of the fields ``order`` names, in that order."""
        readonly_names = set(self.get_readonly_fields(request, obj))
        made: list[FormField] = []
        shown: list[ReadonlyField] = []
        for name in order:
            spec = field_spec(self.model, name)
            if editable and spec is not None and spec.editable and name not in readonly_names:
                made.append(self.formfield(request, spec))
            else:
                shown.append(self.readonly_field(obj, name))
        form = ModelForm(self.model, made, obj, readonly=shown, prefix=prefix)
        form.order = order
        return form

    def formfield(self, request: Request, spec: FieldSpec) -> FormField:
        """The ``FormField`` for one editable field; override to change a widget::

        def formfield(self, request, spec):
            made = super().formfield(request, spec)
            if spec.name == "body":
                made.help_text = "Markdown is fine."
            return made
        """
        url = None
        if spec.name in type(self).autocomplete_fields and spec.target is not None:
            url = self.site.url(request, "autocomplete", model=spec.target.__tablename__)
        made = form_field(spec, autocomplete_url=url)
        if spec.target is not None:
            target_admin = self.site.admin_for(spec.target)
            made.describe = target_admin.object_repr if target_admin is not None else None
            if made.widget in ("select", "multiselect"):
                made.choices += self.relation_choices(request, spec)
        return made

    def relation_choices(self, request: Request, spec: FieldSpec) -> list[tuple[str, str]]:
        """The related rows a relation's <select> offers (up to ``CHOICES_LIMIT``)."""
        assert spec.target is not None
        target_admin = self.site.admin_for(spec.target)
        label: Callable[[Any], str] = (
            target_admin.object_repr if target_admin is not None else object_repr
        )
        rows = spec.target.objects.all()[:CHOICES_LIMIT]
        return [(pk_text(row), label(row)) for row in rows]

    def readonly_field(self, obj: Any, name: str) -> ReadonlyField:
        """The label and text of a read-only field or computed value of ``obj``."""
        is_new = obj is None or sa.inspect(obj).key is None
        label, value, info = self.lookup(name, None if is_new else obj)
        return ReadonlyField(name, label, display_value(value, info))

    def lookup(self, name: str, obj: Any) -> tuple[str, Any, Any]:
        """``(label, value, field info)`` of ``name`` for ``obj``: a field, a method of
        this admin (called with the object), or an attribute or method of the model.
        A method's ``short_description`` attribute is its label."""
        if name == "__str__":
            return capfirst(self.name), self.object_repr(obj) if obj is not None else "", None
        spec = field_spec(self.model, name)
        if spec is not None:
            value = getattr(obj, name) if obj is not None else None
            return spec_label(spec), value, spec.info
        method = getattr(self, name, None)
        if callable(method):
            label = getattr(method, "short_description", None) or field_label(self.model, name)
            return label, method(obj) if obj is not None else None, None
        if hasattr(self.model, name):
            value = getattr(obj, name, None) if obj is not None else None
            value = value() if callable(value) else value
            attr = getattr(self.model, name)
            label = getattr(attr, "short_description", None) or field_label(self.model, name)
            return label, value, None
        raise LookupError(
            f"{type(self).__name__}: {name!r} is neither a field of {self.model.__name__}, "
            "a method of the admin nor an attribute of the model."
        )

    # --- saving (override to add behaviour around writes) ------------------------------------
    def save_model(self, request: Request, obj: Any, form: ModelForm, change: bool) -> None:
        """Save ``obj`` after a valid form; ``change`` is False when adding::

        def save_model(self, request, obj, form, change):
            if not change:
                obj.author = request.user
            super().save_model(request, obj, form, change)
        """
        obj.save()

    def delete_model(self, request: Request, obj: Any) -> None:
        """Delete one object (the database cascades)."""
        obj.delete()


def _overrides(admin: BaseModelAdmin, method: str) -> bool:
    """Whether a class of the project (not Kettle's own) defines ``method``."""
    return getattr(type(admin), method) is not getattr(ModelAdmin, method)


def spec_label(spec: FieldSpec) -> str:
    """The label of a field: its ``verbose_name``, else the name in words."""
    return field_label(spec.model, spec.name)


class ModelAdmin(BaseModelAdmin):
    """The admin of one model (see the module docstring for every option).

    List page: ``list_display`` (columns), ``list_display_links`` (which link to the
    object; default the first), ``search_fields`` (case-insensitive, related fields with
    ``__``), ``list_filter`` (choices, booleans, relations and dates), ``ordering``,
    ``list_per_page`` and ``list_max_count`` (count at most this many rows, so a page of a
    huge table stays fast; None counts them all). Bulk ``actions`` and ``inlines`` of
    related rows complete it::

        @site.register(Article)
        class ArticleAdmin(ModelAdmin):
            list_display = ["title", "status"]
            list_filter = ["status"]
    """

    #: The list's columns: fields, ``"__str__"``, or methods of the admin or the model
    #: (computed columns). A method's ``short_description`` attribute is its heading and
    #: its ``admin_order_field`` (a field name) makes the column sortable.
    list_display: ClassVar[Sequence[str]] = ("__str__",)
    #: The columns that link to the object's page (default: the first).
    list_display_links: ClassVar[Sequence[str]] = ()
    #: Fields the search box looks in, case-insensitive; related fields with ``__``
    #: (``author__username``).
    search_fields: ClassVar[Sequence[str]] = ()
    #: Fields of the filter sidebar: choices, booleans, relations and dates.
    list_filter: ClassVar[Sequence[str]] = ()
    #: The default sort of the list (``-created``); default the model's ``Meta.ordering``,
    #: else newest first.
    ordering: ClassVar[Sequence[str]] = ()
    #: Rows per page of the list.
    list_per_page: ClassVar[int] = 50
    #: Count at most this many rows, so a page of a huge table stays fast; None counts all.
    list_max_count: ClassVar[int | None] = 10_000
    #: ``InlineModelAdmin`` classes: related rows edited on the object's form.
    inlines: ClassVar[Sequence[type[Any]]] = ()
    #: Bulk actions of the list besides ``delete_selected``: functions or ``@action``s.
    actions: ClassVar[Sequence[Any]] = ()
    #: Template names tried before the admin's own (``admin/<table>/<page>.html`` first).
    change_list_template: ClassVar[str | None] = None
    #: Template tried first for the form page.
    change_form_template: ClassVar[str | None] = None
    #: Template tried first for the page that confirms a delete.
    delete_confirmation_template: ClassVar[str | None] = None
    #: Template tried first for an object's history page.
    object_history_template: ClassVar[str | None] = None
    #: The form in titled sections, as in Django (instead of ``fields``): a list of
    #: ``(title or None, options)`` pairs. ``options["fields"]`` lists the section's
    #: fields (a tuple of names is one row; ``readonly_fields`` may appear and show
    #: read-only), ``"classes": ["collapse"]`` starts it closed and ``"description"`` is
    #: text under the title. Fields in no section are not on the form; inlines follow::
    #:
    #:     fieldsets = [
    #:         (None, {"fields": ["title", "url"]}),
    #:         ("Moderation", {"fields": [("hidden", "featured")], "classes": ["collapse"]}),
    #:     ]
    fieldsets: ClassVar[Fieldsets | None] = None

    def get_fields(self, request: Request, obj: Any = None) -> list[str]:
        """The names the form shows, in order: those of ``fieldsets`` if it is set."""
        if type(self).fieldsets is not None:
            return flatten_fieldsets(read_fieldsets(type(self).fieldsets, type(self).__name__))
        return super().get_fields(request, obj)

    def get_fieldsets(self, request: Request, obj: Any = None) -> Fieldsets:
        """The form's sections: ``fieldsets``, else one untitled section of
        ``get_fields()``; override to decide per user or object::

            def get_fieldsets(self, request, obj=None):
                found = list(super().get_fieldsets(request, obj))
                if request.user.is_superuser:
                    found.append(("Internal", {"fields": ["notes"]}))
                return found
        """
        if type(self).fieldsets is not None:
            return list(type(self).fieldsets or ())
        return [(None, {"fields": self.get_fields(request, obj)})]

    def get_form(
        self, request: Request, obj: Any, *, editable: bool = True, prefix: str = ""
    ) -> ModelForm:
        """The form for ``obj``, its fields in the sections of ``get_fieldsets()``."""
        sections = read_fieldsets(self.get_fieldsets(request, obj), type(self).__name__)
        form = self._form(request, obj, flatten_fieldsets(sections), editable, prefix)
        if type(self).fieldsets is not None or _overrides(self, "get_fieldsets"):
            form.fieldsets = sections
        return form

    def get_list_display(self, request: Request) -> list[str]:
        """The list's columns."""
        return list(type(self).list_display)

    def get_list_display_links(self, request: Request, list_display: list[str]) -> list[str]:
        """The columns that link to the object's page (default: the first)."""
        return list(type(self).list_display_links) or list_display[:1]

    def get_search_fields(self, request: Request) -> list[str]:
        """The fields the search box looks in."""
        return list(type(self).search_fields)

    def get_list_filter(self, request: Request) -> list[str]:
        """The fields of the filter sidebar."""
        return list(type(self).list_filter)

    def get_ordering(self, request: Request) -> list[str]:
        """The default sort: ``ordering``, else the model's ``Meta.ordering``, else newest
        first (``-pk``)."""
        return list(type(self).ordering) or list(self.model._kettle_ordering) or ["-pk"]

    def get_inlines(self, request: Request, obj: Any = None) -> list[Any]:
        """The inline admins (instances) of the form page."""
        from kettle.admin.inlines import InlineModelAdmin

        made = []
        for inline in type(self).inlines:
            if not (isinstance(inline, type) and issubclass(inline, InlineModelAdmin)):
                raise TypeError(f"{type(self).__name__}.inlines takes InlineModelAdmin classes.")
            made.append(inline(self.model, self.site))
        return made

    def get_actions(self, request: Request) -> dict[str, Action]:
        """The bulk actions this user may run here, by name (``delete_selected`` first)."""
        found: dict[str, Action] = {}
        for item in (delete_selected, *type(self).actions):
            act = as_action(item, self)
            if all(self._may(request, p) for p in act.permissions):
                found[act.name] = act
        return found

    def _may(self, request: Request, permission: str) -> bool:
        checks = {
            "view": self.has_view_permission,
            "add": self.has_add_permission,
            "change": self.has_change_permission,
            "delete": self.has_delete_permission,
        }
        check = checks.get(permission)
        if check is None:
            raise ValueError(f"Unknown permission {permission!r} on an action.")
        return bool(check(request))

    # --- bulk deleting -------------------------------------------------------------------
    def delete_queryset(self, request: Request, queryset: QuerySet[Any]) -> int:
        """Delete the rows of the "Delete selected" action; returns how many."""
        return queryset.delete()


__all__ = ["CHOICES_LIMIT", "BaseModelAdmin", "ModelAdmin", "spec_label"]
