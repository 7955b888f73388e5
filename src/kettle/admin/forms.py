"""Admin forms: fields generated from a model's columns, bound to what a browser sent,
validated with the model's own rules and applied to one object.

Only the form's fields are ever read from the submitted data, and read-only fields are
not form fields, so a POST cannot write any other column (no mass assignment)::

    form = ModelForm(Article, [form_field(field_spec(Article, "title"))], article)
    form.bind(await request.form())
    if form.validate():
        article.save()
    form.errors        # {"title": ["This field is required."]}
    form.changes       # [Change("Title", "Old", "New")]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from kettle.admin._display import display_value, field_label, object_repr, short, verbose_name
from kettle.admin._fields import (
    FieldSpec,
    FormField,
    InvalidValue,
    field_names,
    field_spec,
    form_field,
    parse,
    widget_text,
)
from kettle.admin.fieldsets import Fieldset
from kettle.db.models import Model
from kettle.db.session import sync_session
from kettle.i18n._gettext import gettext as _


class Change(NamedTuple):
    """One field a save changed, as text for the history: ``Change("Title", "a", "b")``."""

    #: The field's label, as the form showed it: ``"Title"``.
    field: str
    #: The value before the save, as text; None when there was none (an added object).
    old: str | None
    #: The value after the save, as text; None when there is none.
    new: str | None


@dataclass(frozen=True, slots=True)
class ReadonlyField:
    """A field shown but never written: a column, or a value the admin computes::

    ReadonlyField("created", "Created", "2024-05-01 09:30 UTC")
    """

    #: The field's (or the admin method's) name: ``"created"``.
    name: str
    #: The label shown beside the value: ``"Created"``.
    label: str
    #: The value as shown, already text (``display_value``); escaped by the template.
    text: str


@dataclass(frozen=True, slots=True)
class FormSection:
    """One section of a form as the page shows it: its ``Fieldset`` and rows of fields::

    FormSection(Fieldset("Moderation", (("hidden", "featured"),)), [[hidden, featured]])
    """

    #: The section's title, classes and description.
    fieldset: Fieldset
    #: The rows, in order: each the fields (editable or read-only) shown side by side.
    rows: list[list[FormField | ReadonlyField]]
    #: Whether a field of the section has an error (a collapsed section then starts open).
    has_errors: bool = False


class ModelForm:
    """The form for one object (new or existing); see the module docstring.

    ``prefix`` namespaces the form's keys, so several forms share one ``<form>``
    (the inline rows ``remark-0-text``, ``remark-1-text``...)::

        ModelForm(Remark, fields, Remark(), prefix="remark-0-")
    """

    def __init__(
        self,
        model: type[Model],
        fields: Sequence[FormField],
        instance: Model,
        *,
        readonly: Sequence[ReadonlyField] = (),
        prefix: str = "",
    ) -> None:
        self.model = model
        self.fields = list(fields)
        self.readonly = list(readonly)
        self.instance = instance
        self.prefix = prefix
        self.data: dict[str, list[str]] = {}
        self.bound = False
        self.errors: dict[str, list[str]] = {}
        self.non_field_errors: list[str] = []
        self.changes: list[Change] = []
        self._applied: list[str] = []
        #: The names of fields and read-only fields in the order the page shows them.
        self.order: list[str] = [f.name for f in self.fields] + [r.name for r in self.readonly]
        #: The sections of ``ModelAdmin.fieldsets``; empty: one plain card of ``order``.
        self.fieldsets: list[Fieldset] = []
        self._initial = {f.name: widget_text(f, self._current(f)) for f in self.fields}

    @property
    def is_new(self) -> bool:
        """Whether the object is not in the database yet."""
        return sa.inspect(self.instance).key is None

    def key(self, name: str) -> str:
        """The form key of field ``name``: ``prefix + name``."""
        return self.prefix + name

    def bind(self, data: Mapping[str, Any] | Any) -> None:
        """Take the submitted texts of this form's fields (nothing else) from ``data``, a
        ``FormData`` or a plain ``{key: text or [texts]}`` mapping."""
        self.bound = True
        for made in self.fields:
            key = self.key(made.name)
            if hasattr(data, "getlist"):
                raw = data.getlist(key)
            else:
                value = data.get(key)
                raw = [] if value is None else value if isinstance(value, list) else [value]
            self.data[made.name] = [v for v in raw if isinstance(v, str)]

    def value(self, name: str) -> Any:
        """What the widget of ``name`` shows: the submitted text once bound, else the
        object's value."""
        made = next(f for f in self.fields if f.name == name)
        if not self.bound:
            return self._initial[name]
        sent = self.data.get(name, [])
        if made.widget == "checkbox":
            return widget_text(made, parse(made, sent))
        if made.spec.many:
            return sent
        return sent[-1] if sent else ""

    def has_changed(self) -> bool:
        """Whether the submitted texts differ from what the form showed (an untouched
        extra inline row is skipped, not saved)."""
        return any(self.value(f.name) != self._initial[f.name] for f in self.fields)

    def has_changed_text(self, made: FormField) -> bool:
        """Whether the text sent for ``made`` differs from what the form showed."""
        return bool(self.value(made.name) != self._initial[made.name])

    # --- validating ----------------------------------------------------------------------
    def validate(self) -> bool:
        """Parse every field, apply the values to the object and check it with the model's
        rules; True when there are no errors. Runs SQL only to check relations and
        unique columns, never flushing the object; a form that does not validate leaves
        a saved object as it was (its changed attributes are expired)."""
        session = sync_session()
        with session.no_autoflush:
            valid = self._validate()
        state = sa.inspect(self.instance)
        if not valid and self._applied and state.key is not None and state.session is not None:
            state.session.expire(self.instance, self._applied)
        return valid

    def _validate(self) -> bool:
        values: dict[str, Any] = {}
        for made in self.fields:
            if made.widget == "datetime" and not self.is_new and not self.has_changed_text(made):
                continue  # NOTE: kept as stored, even a local time that is now ambiguous
            try:
                values[made.name] = parse(made, self.data.get(made.name, []))
            except InvalidValue as error:
                self.errors[made.name] = [str(error)]
        related = self._related(values)
        for made in self.fields:
            spec = made.spec
            if made.name not in values:
                continue
            missing = values[made.name] is None and not spec.nullable and not spec.many
            if missing and not (self.is_new and spec.has_default):
                self.errors[made.name] = [_("This field is required.")]
                continue
            self._apply(made, values[made.name], related)
        self._model_errors()
        self._unique_errors(values)
        return not self.errors and not self.non_field_errors

    def _related(self, values: dict[str, Any]) -> dict[str, Any]:
        """The objects the submitted relation ids name; a missing one is a field error."""
        found: dict[str, Any] = {}
        for made in self.fields:
            spec = made.spec
            value = values.get(made.name)
            if spec.target is None or value is None or value == []:
                continue
            ids = value if spec.many else [value]
            objects = list(spec.target.objects.filter(pk__in=ids))
            if len(objects) != len(set(ids)):
                self.errors[made.name] = [_("Select a valid choice; that one does not exist.")]
                del values[made.name]
                continue
            by_id = {_identity(o): o for o in objects}
            found[made.name] = [by_id[i] for i in ids] if spec.many else by_id[value]
        return found

    def _current(self, made: FormField) -> Any:
        spec = made.spec
        state = self.instance.__dict__
        if spec.many:
            if self.is_new:
                return []
            return [_identity(o) for o in getattr(self.instance, spec.name)]
        if spec.target is not None:
            return state.get(spec.column.key)
        if spec.column.key in state:
            return state[spec.column.key]
        return _default_of(spec) if self.is_new else None

    def _apply(self, made: FormField, value: Any, related: dict[str, Any]) -> None:
        spec = made.spec
        old = self._current(made)
        if value is None and not spec.nullable and not spec.many:
            return  # a new object's column default fills it on insert
        if spec.many or spec.target is not None:
            if value == old:
                return
            old_text = self._relation_text(made) if not self.is_new else None
            target = related.get(made.name, [] if spec.many else None)
            setattr(self.instance, spec.name, target)
            self._applied.append(spec.name)
            new_text = display_value(target) if target not in (None, []) else None
        else:
            before, after = widget_text(made, old), widget_text(made, value)
            if before == after and not self.is_new:
                return
            setattr(self.instance, spec.column.key, value)
            self._applied.append(spec.column.key)
            old_text = None if self.is_new else _shown(old, spec)
            new_text = _shown(value, spec)
        if old_text != new_text:
            self.changes.append(Change(made.label, old_text, new_text))

    def _relation_text(self, made: FormField) -> str | None:
        current = getattr(self.instance, made.spec.name)
        if made.spec.many:
            return ", ".join(object_repr(o) for o in current) or None
        return object_repr(current) if current is not None else None

    def _model_errors(self) -> None:
        names = {f.name for f in self.fields}
        for name, problems in self.instance.validation_errors().items():
            if name in self.errors:
                continue  # its text did not even convert; that error says enough
            if name in names:
                self.errors[name] = problems
            else:
                label = field_label(self.model, name)
                self.non_field_errors.extend(
                    f"{label}: {p} (this field is not in the form; give it a default or set "
                    "it in save_model())"
                    for p in problems
                )

    def _unique_errors(self, values: dict[str, Any]) -> None:
        for made in self.fields:
            spec = made.spec
            value = values.get(made.name)
            if not spec.unique or value is None or made.name in self.errors:
                continue
            lookup = spec.column.key if spec.target is not None else spec.name
            query = self.model.objects.filter(**{lookup: value})
            if not self.is_new:
                query = query.exclude(pk=_identity(self.instance))
            if query.exists():
                self.errors[made.name] = [
                    f"A {verbose_name(self.model)} with this {made.label.lower()} already exists."
                ]

    # --- for templates ---------------------------------------------------------------------
    def rows(self) -> list[FormField | ReadonlyField]:
        """The fields and read-only fields in page order."""
        by_name: dict[str, FormField | ReadonlyField] = {f.name: f for f in self.readonly}
        by_name.update({f.name: f for f in self.fields})
        return [by_name[n] for n in self.order if n in by_name]

    def sections(self) -> list[FormSection]:
        """The form's sections in page order (one untitled section without
        ``fieldsets``), each row holding the fields it shows."""
        by_name: dict[str, FormField | ReadonlyField] = {f.name: f for f in self.readonly}
        by_name.update({f.name: f for f in self.fields})
        fieldsets = self.fieldsets or [Fieldset(None, tuple((n,) for n in self.order))]
        made = []
        for fieldset in fieldsets:
            rows = [[by_name[n] for n in row if n in by_name] for row in fieldset.rows]
            errors = any(n in self.errors for n in fieldset.names)
            made.append(FormSection(fieldset, [r for r in rows if r], errors))
        return made

    def related_text(self, name: str) -> str:
        """The name of the related row the widget of ``name`` holds ("" if none): what an
        autocomplete widget shows next to the id."""
        made = next(f for f in self.fields if f.name == name)
        target = made.spec.target
        text = self.value(name)
        if target is None or not isinstance(text, str) or not text:
            return ""
        try:
            found = target.objects.filter(pk=parse(made, [text])).first()
        except (InvalidValue, ValueError):
            return ""
        if found is None:
            return ""
        return made.describe(found) if made.describe is not None else object_repr(found)

    def error_summary(self) -> list[tuple[str, str, str]]:
        """``(widget id, label, message)`` of each field error, in page order, for the
        summary above the form that links to each field."""
        labels = {f.name: f.label for f in self.fields}
        return [
            (f"id_{self.key(name)}", labels.get(name, name), message)
            for name in self.order
            for message in self.errors.get(name, [])
        ]

    def error_count(self) -> int:
        """How many problems the form has (for the summary above it)."""
        return sum(len(v) for v in self.errors.values()) + len(self.non_field_errors)


def _identity(obj: Any) -> Any:
    """The primary key of a saved object."""
    identity = sa.inspect(obj).identity
    assert identity is not None, f"{obj!r} is not saved"
    return identity[0]


def _default_of(spec: FieldSpec) -> Any:
    default = spec.column.default if spec.column is not None else None
    if default is None or not getattr(default, "is_scalar", False):
        return None
    return default.arg


def _shown(value: Any, spec: FieldSpec) -> str | None:
    if value is None or value == "":
        return None
    return short(display_value(value, spec.info))


def readonly_field(obj: Model | None, name: str, label: str, value: Any) -> ReadonlyField:
    """A ``ReadonlyField`` showing ``value`` (``—`` on a new object)."""
    spec = field_spec(type(obj), name) if obj is not None else None
    info = spec.info if spec is not None else None
    return ReadonlyField(name, label, display_value(value, info))


__all__ = [
    "Change",
    "FieldSpec",
    "FormField",
    "FormSection",
    "InvalidValue",
    "ModelForm",
    "ReadonlyField",
    "field_names",
    "field_spec",
    "form_field",
    "readonly_field",
]
