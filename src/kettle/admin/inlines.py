"""Inline editing: the related rows of an object (the comments of an article) edited as a
table on the object's own page, with rows to add, change and delete.

::

    class CommentInline(TabularInline):
        model = Comment
        fields = ["author", "text"]
        extra = 1

    @site.register(Article)
    class ArticleAdmin(ModelAdmin):
        inlines = [CommentInline]

Each row is a ``ModelForm`` whose keys carry a prefix (``comment-0-text``). A submitted
row id must be one of the parent's rows, so a POST cannot reach anybody else's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from kettle.admin._display import pk_text
from kettle.admin.forms import Change, ModelForm
from kettle.admin.options import BaseModelAdmin
from kettle.db import Model
from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from kettle.admin.site import AdminSite
    from kettle.requests import Request


class InlineModelAdmin(BaseModelAdmin):
    """The options of an inline: the child ``model``, the relation to the parent
    (``fk_name``, found by itself when there is only one), ``extra`` empty rows and
    ``max_num`` rows at most, besides the form options of ``BaseModelAdmin``::

        class CommentInline(TabularInline):
            model = Comment
            fk_name = "article"
    """

    #: The foreign key to the parent, when the model has more than one to it.
    fk_name: ClassVar[str | None] = None
    #: Empty rows offered for new related objects.
    extra: ClassVar[int] = 1
    #: The most related rows shown and accepted.
    max_num: ClassVar[int] = 500
    #: Whether rows have a delete box.
    can_delete: ClassVar[bool] = True
    #: The template that renders the inline.
    template: ClassVar[str] = "admin/edit_inline/tabular.html"

    def __init__(self, parent_model: type[Model], site: AdminSite) -> None:
        super().__init__(type(self).model, site)
        self.parent_model = parent_model
        self.fk = relation_to(type(self).model, parent_model, type(self).fk_name)

    @property
    def prefix(self) -> str:
        """The key prefix of this inline's rows: the child's table name."""
        return self.slug

    def get_fields(self, request: Request, obj: Any = None) -> list[str]:
        """The row's fields, never the link to the parent (the parent sets it)."""
        return [n for n in super().get_fields(request, obj) if n != self.fk]


class TabularInline(InlineModelAdmin):
    """An inline shown as a table, one row per related object (see ``InlineModelAdmin``)."""


def relation_to(model: type[Model], parent: type[Model], name: str | None) -> str:
    """The name of the to-one relation of ``model`` that points at ``parent``.

    Refuses, naming the choices, when there is none or more than one and ``name`` does
    not say which (check id ``admin.E107``)::

        relation_to(Comment, Article, None)   # "article"
    """
    mapper = sa.inspect(model)
    found = [
        rel.key
        for rel in mapper.relationships
        if rel.direction is sa.orm.RelationshipDirection.MANYTOONE
        and issubclass(parent, rel.mapper.class_)
    ]
    if name is not None:
        if name not in found:
            raise ConfigurationError(
                f"[admin.E107] {model.__name__}.{name} is not a relation to {parent.__name__}; "
                f"relations to it: {', '.join(found) or 'none'}."
            )
        return name
    if len(found) != 1:
        raise ConfigurationError(
            f"[admin.E107] {model.__name__} has {len(found) or 'no'} relations to "
            f"{parent.__name__} ({', '.join(found) or 'none'}); set fk_name on the inline."
        )
    return found[0]


@dataclass(slots=True)
class InlineRow:
    """One row of an inline: its form, whether it is new and whether it is to go::

    InlineRow(form, is_new=False, delete=True)   # "comment-0-DELETE" was ticked
    """

    #: The row's form, its keys prefixed with the inline and the row's index
    #: (``comment-0-text``).
    form: ModelForm
    #: True for an empty row added for a new object, False for an existing one.
    is_new: bool
    #: True when the row's "Delete" box was ticked: saving deletes the object.
    delete: bool = False
    #: Set by ``validate()`` on a new row left untouched: it is neither checked nor saved.
    skipped: bool = False

    @property
    def pk(self) -> str:
        """The row's primary key as text ("" for a new row)."""
        return pk_text(self.form.instance)


class InlineFormSet:
    """The rows of one inline on one page (see the module docstring)::

    formset = InlineFormSet(inline, request, article, editable=True)
    formset.bind(form_data)
    if formset.validate():
        formset.save(request)
    """

    def __init__(self, inline: InlineModelAdmin, request: Request, parent: Model, editable: bool):
        self.inline = inline
        self.request = request
        self.parent = parent
        self.prefix = inline.prefix
        parent_is_new = sa.inspect(parent).key is None
        self.can_add = editable and inline.has_add_permission(request)
        self.can_change = editable and inline.has_change_permission(request)
        self.can_delete = editable and inline.can_delete and inline.has_delete_permission(request)
        self.existing: list[Any] = []
        if not parent_is_new:
            query = inline.get_queryset(request).filter(**{inline.fk: parent})
            self.existing = list(query.order_by("pk")[: inline.max_num])
        self.rows = [self._row(obj, i, is_new=False) for i, obj in enumerate(self.existing)]
        spare = max(0, min(inline.extra, inline.max_num - len(self.existing)))
        if self.can_add:
            start = len(self.rows)
            self.rows += [self._row(self._new(), start + i, is_new=True) for i in range(spare)]
        self.errors: list[str] = []

    @property
    def name(self) -> str:
        """The inline's title: the child model's plural name."""
        return self.inline.name_plural

    def _new(self) -> Any:
        return self.inline.model()

    def _row(self, obj: Any, index: int | str, *, is_new: bool) -> InlineRow:
        editable = self.can_add if is_new else self.can_change
        prefix = f"{self.prefix}-{index}-"
        form = self.inline.get_form(self.request, obj, editable=editable, prefix=prefix)
        return InlineRow(form, is_new)

    def empty_row(self) -> InlineRow:
        """A blank row for the "Add another" button to copy (index ``__prefix__``)."""
        return self._row(self._new(), "__prefix__", is_new=True)

    def headers(self) -> list[str]:
        """The column labels of the table."""
        row = self.rows[0] if self.rows else self.empty_row()
        return [getattr(field, "label", "") for field in row.form.rows()]

    # --- a POST ---------------------------------------------------------------------------
    def bind(self, data: Mapping[str, Any] | Any) -> None:
        """Rebuild the rows from what was sent: known ids only, at most ``max_num`` rows."""
        try:
            total = int(str(data.get(f"{self.prefix}-TOTAL_FORMS", "0")))
        except ValueError:
            total = 0
        total = max(0, min(total, len(self.existing) + self.inline.max_num))
        by_id = {pk_text(o): o for o in self.existing}
        rows: list[InlineRow] = []
        names = ["id", "DELETE", *self.inline.get_fields(self.request, None)]
        for index in range(total):
            key = f"{self.prefix}-{index}-"
            if not any(key + name in data for name in names):
                continue  # nothing was sent for this index
            sent_id = str(data.get(key + "id") or "").strip()
            if sent_id:
                obj = by_id.get(sent_id)
                if obj is None:
                    self.errors.append(
                        f"Row {index + 1}: no {self.inline.name} #{sent_id} belongs to this "
                        f"{self.inline.parent_model.__name__.lower()}; reload the page."
                    )
                    continue
                row = self._row(obj, index, is_new=False)
                row.delete = self.can_delete and bool(data.get(key + "DELETE"))
            elif self.can_add:
                row = self._row(self._new(), index, is_new=True)
            else:
                continue
            row.form.bind(data)
            rows.append(row)
        # Rows the browser did not send (added meanwhile) stay as they are, and on the page.
        sent = {id(r.form.instance) for r in rows}
        unsent = [o for o in self.existing if id(o) not in sent]
        self.rows = rows + [self._row(o, len(rows) + i, is_new=False) for i, o in enumerate(unsent)]
        # Shown again, the rows are numbered 0, 1, 2... whatever indexes were sent.
        for index, row in enumerate(self.rows):
            row.form.prefix = f"{self.prefix}-{index}-"

    def validate(self) -> bool:
        """Validate the rows to save (untouched new rows and rows to delete are skipped)."""
        ok = not self.errors
        for row in self.rows:
            if not row.form.bound or row.delete:
                continue
            if row.is_new and not row.form.has_changed():
                row.skipped = True
                continue
            if not row.form.fields:
                continue  # read-only for this user: nothing to write
            self._link(row.form.instance)
            ok = row.form.validate() and ok
        return ok

    def save(self, request: Request) -> list[Change]:
        """Write the rows (after ``validate()``); returns the changes for the parent's
        history, one line per row added, changed or deleted."""
        inline = self.inline
        changes: list[Change] = []
        for row in self.rows:
            obj = row.form.instance
            if not row.form.bound or row.skipped:
                continue
            label = f"{inline.name.capitalize()} “{inline.object_repr(obj)}”"
            if row.delete:
                inline.delete_model(request, obj)
                changes.append(Change(label, "present", None))
            elif row.is_new:
                self._link(obj)
                inline.save_model(request, obj, row.form, False)
                label = f"{inline.name.capitalize()} “{inline.object_repr(obj)}”"
                changes.append(Change(label, None, "added"))
            elif row.form.changes:
                inline.save_model(request, obj, row.form, True)
                changes += [Change(f"{label}: {c.field}", c.old, c.new) for c in row.form.changes]
        return changes

    def _link(self, obj: Any) -> None:
        """Point a row at the parent: by id when the parent is saved (so the parent's
        list of rows is left alone), else by object (its id comes when it is saved)."""
        if sa.inspect(self.parent).key is not None:
            column = self.inline.model.__table__.c[self._fk_column]
            setattr(obj, column.key, sa.inspect(self.parent).identity[0])  # type: ignore[index]
        else:
            setattr(obj, self.inline.fk, self.parent)

    @property
    def _fk_column(self) -> str:
        mapper = sa.inspect(self.inline.model)
        relation = mapper.relationships[self.inline.fk]
        return str(next(iter(relation.local_columns)).key)

    def error_count(self) -> int:
        """How many problems the rows have."""
        return len(self.errors) + sum(r.form.error_count() for r in self.rows)


__all__ = ["InlineFormSet", "InlineModelAdmin", "InlineRow", "TabularInline", "relation_to"]
