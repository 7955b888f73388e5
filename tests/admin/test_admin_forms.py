"""Forms generated from model columns: widgets, parsing, validation with the model's own
rules, and nothing written but the form's fields; plus how values and names display."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest
from adminsite import Label, Post, Remark, Section, Site, Status, Writer, seed

from kettle.admin._deletion import plan_deletion
from kettle.admin._display import (
    display_value,
    field_label,
    object_repr,
    verbose_name,
    verbose_name_plural,
)
from kettle.admin._fields import (
    InvalidValue,
    field_names,
    field_spec,
    form_field,
    parse,
    widget_text,
)
from kettle.admin.actions import Action, action, as_action
from kettle.admin.filters import DateFilter, ListFilter
from kettle.admin.forms import Change, ModelForm
from kettle.db import Model, fields


def made(model: type[Any], name: str, **options: Any) -> Any:
    spec = field_spec(model, name)
    assert spec is not None, name
    return form_field(spec, **options)


# --- which widget -------------------------------------------------------------------------------
def test_fields_in_declaration_order() -> None:
    assert field_names(Post) == [
        "title", "url", "body", "status", "featured", "score", "price", "published",
        "created", "secret", "writer", "section", "labels",
    ]  # fmt: skip
    assert field_spec(Post, "writer_id") is None  # edited as "writer"
    assert field_spec(Post, "id") is None
    assert field_spec(Post, "nothing") is None


@pytest.mark.parametrize(
    ("name", "widget", "required"),
    [
        ("title", "text", True),
        ("url", "url", False),
        ("body", "textarea", False),
        ("status", "select", False),
        ("featured", "checkbox", False),
        ("score", "number", False),
        ("price", "number", False),
        ("published", "date", False),
        ("created", "datetime", False),
        ("writer", "select", True),
        ("section", "select", False),
        ("labels", "multiselect", False),
    ],
)
def test_widgets(name: str, widget: str, required: bool) -> None:
    field = made(Post, name)
    assert (field.widget, field.required) == (widget, required)


def test_widget_details() -> None:
    assert made(Post, "title").max_length == 120
    assert made(Post, "score").step == "1"
    assert made(Post, "price").step == "0.01"
    assert made(Post, "status").choices == [("draft", "Draft"), ("published", "Published")]
    assert made(Remark, "rating").choices == [("1", "poor"), ("3", "fine"), ("5", "great")]
    assert made(Post, "section").choices == [("", "---------")]  # rows come from the admin
    assert made(Post, "body").help_text == "Plain text."
    assert made(Post, "url").label == "URL"
    auto = made(Post, "writer", autocomplete_url="/admin/writer/autocomplete")
    assert (auto.widget, auto.autocomplete_url) == ("autocomplete", "/admin/writer/autocomplete")


class Mood(enum.Enum):
    CALM = "calm"


class Gadget(Model):
    maybe: bool | None = fields.boolean(null=True, default=None)
    ratio: float = fields.float(default=1.0)
    token: uuid.UUID | None = fields.uuid(null=True)
    data: dict[str, Any] | None = fields.json(null=True)
    mood: Mood = fields.enum(Mood, default=Mood.CALM)
    seen: dt.datetime | None = fields.datetime(null=True)


def test_more_kinds() -> None:
    maybe = made(Gadget, "maybe")
    assert (maybe.widget, maybe.choices[0]) == ("select", ("", "Unknown"))
    assert made(Gadget, "ratio").step == "any"
    assert made(Gadget, "token").widget == "text"
    assert made(Gadget, "data").widget == "json"


# --- text to value and back ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "name", "sent", "value"),
    [
        (Post, "title", ["  Tea  "], "Tea"),
        (Post, "title", [""], ""),
        (Post, "url", [""], None),
        (Post, "score", ["12"], 12),
        (Post, "score", [""], None),
        (Post, "price", ["3.50"], Decimal("3.50")),
        (Post, "published", ["2024-05-01"], dt.date(2024, 5, 1)),
        (Post, "created", ["2024-05-01T09:30"], dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)),
        (Post, "status", ["published"], Status.PUBLISHED),
        (Post, "featured", ["on"], True),
        (Post, "featured", [], False),
        (Post, "writer", ["7"], 7),
        (Post, "labels", ["1", "2", ""], [1, 2]),
        (Remark, "rating", ["5"], 5),
        (Gadget, "ratio", ["0.5"], 0.5),
        (
            Gadget,
            "token",
            ["12345678-1234-5678-1234-567812345678"],
            uuid.UUID(int=0x12345678123456781234567812345678),
        ),
        (Gadget, "data", ['{"a": [1]}'], {"a": [1]}),
        (Gadget, "maybe", ["false"], False),
        (Gadget, "maybe", [""], None),
    ],
)
def test_parse(model: type[Any], name: str, sent: list[str], value: Any) -> None:
    assert parse(made(model, name), sent) == value


@pytest.mark.parametrize(
    ("model", "name", "sent", "message"),
    [
        (Post, "score", "many", "Enter a whole number."),
        (Post, "price", "cheap", "Enter a number."),
        (Gadget, "ratio", "nan", "Enter a number."),
        (Post, "published", "May 1st", "Enter a valid date (YYYY-MM-DD)."),
        (Post, "created", "soon", "Enter a valid date and time (YYYY-MM-DD HH:MM, in UTC)."),
        (
            Post,
            "status",
            "archived",
            "Select a valid choice; 'archived' is not one of draft, published.",
        ),
        (Post, "writer", "ann", "Select a valid choice."),
        (Gadget, "token", "nope", "Enter a valid UUID."),
        (Gadget, "data", "{oops", "Enter valid JSON."),
    ],
)
def test_parse_refuses(model: type[Any], name: str, sent: str, message: str) -> None:
    with pytest.raises(InvalidValue) as error:
        parse(made(model, name), [sent])
    assert str(error.value) == message


def test_widget_text() -> None:
    stamp = dt.datetime(2024, 5, 1, 11, 30, 15, 999, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert widget_text(made(Post, "created"), stamp) == "2024-05-01T09:30:15"
    assert widget_text(made(Post, "price"), Decimal("3.50")) == "3.50"
    assert widget_text(made(Post, "status"), Status.DRAFT) == "draft"
    assert widget_text(made(Post, "featured"), True) is True
    assert widget_text(made(Post, "labels"), [1, 2]) == ["1", "2"]
    assert widget_text(made(Post, "url"), None) == ""
    assert widget_text(made(Gadget, "data"), {"b": 1, "a": 2}) == '{\n  "a": 2,\n  "b": 1\n}'
    assert widget_text(made(Gadget, "maybe"), False) == "false"


# --- ModelForm ------------------------------------------------------------------------------------
def post_form(instance: Post, *names: str, prefix: str = "") -> ModelForm:
    return ModelForm(Post, [made(Post, n) for n in names], instance, prefix=prefix)


def test_form_reads_only_its_own_fields(site: Site) -> None:
    data = seed(site.db, 1)
    with site.db.session():
        post = Post.objects.get(id=data["posts"][0].id)
        form = post_form(post, "title", "score")
        form.bind({"title": "New", "score": "5", "secret": "x", "writer": "999", "id": "77"})
        assert form.validate()
        assert (post.title, post.score, post.secret, post.writer_id) == (
            "New",
            5,
            "",
            data["ann"].id,
        )
        assert form.changes == [Change("Title", "Post 1", "New"), Change("Score", "1", "5")]
        post.save()
    with site.db.session():
        assert Post.objects.get(id=post.id).title == "New"


def test_form_errors_come_from_the_model(site: Site) -> None:
    data = seed(site.db, 1)
    with site.db.session():
        post = Post.objects.get(id=data["posts"][0].id)
        form = post_form(post, "title", "url", "score", "writer")
        form.bind({"title": "spam " * 30, "url": "ftp://x", "score": "", "writer": "424242"})
        assert not form.validate()
        assert form.errors == {
            "title": [
                "Ensure this value has at most 120 characters (it has 149).",
                "Titles may not mention spam.",
            ],
            "url": ["Enter a valid http:// or https:// URL."],
            "score": ["This field is required."],
            "writer": ["Select a valid choice; that one does not exist."],
        }
        assert form.error_count() == 5
        assert form.value("title") == "spam " * 30  # shown back as typed
        assert form.value("writer") == "424242"
        assert post.title == "Post 1"  # a form that fails leaves the object as it was


def test_required_fields_missing_from_the_form_are_named(site: Site) -> None:
    seed(site.db, 0)
    with site.db.session():
        form = post_form(Post(), "title")
        form.bind({"title": "Alone"})
        assert not form.validate()
        assert form.non_field_errors == [
            "Writer: This field is required. (this field is not in the form; give it a "
            "default or set it in save_model())"
        ]


def test_new_objects_keep_their_defaults(site: Site) -> None:
    data = seed(site.db, 0)
    with site.db.session():
        post = Post()
        form = post_form(post, "title", "score", "status", "writer")
        assert form.value("status") == "draft"  # the column default, preselected
        form.bind({"title": "Defaults", "score": "", "writer": str(data["ann"].id)})
        assert form.validate(), form.errors
        post.save()
        assert (post.score, post.status) == (0, Status.DRAFT)


def test_prefixed_forms_and_has_changed(site: Site) -> None:
    seed(site.db, 0)
    with site.db.session():
        row = ModelForm(
            Remark, [made(Remark, "text"), made(Remark, "rating")], Remark(), prefix="remark-0-"
        )
        assert row.key("text") == "remark-0-text"
        row.bind({"remark-0-text": "", "remark-0-rating": "3", "text": "not mine"})
        assert not row.has_changed()
        row.bind({"remark-0-text": "Hi", "remark-0-rating": "3"})
        assert row.has_changed()


def test_unique_and_many_to_many(site: Site) -> None:
    seed(site.db, 0)
    with site.db.session():
        clash = ModelForm(Writer, [form_field(field_spec(Writer, "name"))], Writer())  # type: ignore[arg-type]
        clash.bind({"name": "Ann"})
        assert not clash.validate()
        assert clash.errors == {"name": ["A writer with this name already exists."]}
        tea = Label.objects.get(name="tea")
        post = Post.objects.get(title="Post 1") if Post.objects.exists() else None
        assert post is None
        labels = post_form(Post(), "labels")
        labels.bind({"labels": [str(tea.id), "987654"]})
        labels.validate()
        assert labels.errors["labels"] == ["Select a valid choice; that one does not exist."]


def test_related_text_names_the_chosen_row(site: Site) -> None:
    data = seed(site.db, 1)
    with site.db.session():
        post = Post.objects.get(id=data["posts"][0].id)
        form = post_form(post, "writer")
        assert form.related_text("writer") == "Ann"
        form.bind({"writer": str(data["bob"].id)})
        assert form.related_text("writer") == "Bob"
        form.bind({"writer": "x"})
        assert form.related_text("writer") == ""


# --- names and values -----------------------------------------------------------------------------
def test_names() -> None:
    assert verbose_name(Post) == "post"
    assert verbose_name(Remark) == "remark"
    assert verbose_name_plural(Reply := type("Reply", (), {})) == "replies"  # noqa: F841
    assert verbose_name_plural(type("Box", (), {})) == "boxes"
    assert verbose_name_plural(type("Day", (), {})) == "days"
    meta = type("Meta", (), {"verbose_name": "news item", "verbose_name_plural": "news"})
    assert verbose_name_plural(type("NewsItem", (), {"Meta": meta})) == "news"
    assert verbose_name(type("ShelfItem", (), {})) == "shelf item"
    assert field_label(Post, "url") == "URL"
    assert field_label(Post, "writer") == "Writer"
    assert field_label(Post, "word_count") == "Word count"


def test_object_repr() -> None:
    assert object_repr(Writer(name="Ann")) == "Ann"  # its __str__
    assert object_repr(Post(title="Tea")) == "Tea"  # a name-like column
    assert object_repr(Remark(text="Nice")) == "Nice"  # the first text column
    assert object_repr(Section()) == "Section #(new)"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (True, "Yes"),
        (False, "No"),
        (Status.DRAFT, "draft"),
        (dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC), "2024-05-01 09:30 UTC"),
        (dt.datetime(2024, 5, 1, 9, 30), "2024-05-01 09:30"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        (Decimal("1.50"), "1.50"),
        ({"b": 1}, '{"b": 1}'),
        ([], "—"),
        (12, "12"),
    ],
)
def test_display_value(value: Any, text: str) -> None:
    assert display_value(value) == text


def test_display_uses_choice_labels() -> None:
    info = field_spec(Post, "status").info  # type: ignore[union-attr]
    assert display_value(Status.PUBLISHED, info) == "Published"


# --- actions and filters --------------------------------------------------------------------------
def test_actions() -> None:
    @action(description="Archive them", permissions=["delete"])
    def archive(admin: Any, request: Any, queryset: Any) -> None: ...

    def plain(admin: Any, request: Any, queryset: Any) -> None: ...

    class Owner:
        @action(description="Feature")
        def feature(self, request: Any, queryset: Any) -> str:
            return f"featured {queryset}"

    assert as_action(archive) == Action("archive", "Archive them", archive, ("delete",))
    assert as_action(plain).description == "Plain"
    method = as_action("feature", Owner())
    assert (method.name, method.description) == ("feature", "Feature")
    assert method.function(None, None, "rows") == "featured rows"
    with pytest.raises(LookupError):
        as_action("missing", Owner())
    with pytest.raises(TypeError):
        as_action(42)


def test_filters_by_type() -> None:
    assert type(ListFilter.for_field(Post, "status")).__name__ == "ChoicesFilter"
    assert type(ListFilter.for_field(Post, "featured")).__name__ == "BooleanFilter"
    assert type(ListFilter.for_field(Post, "writer")).__name__ == "RelatedFilter"
    dates = ListFilter.for_field(Post, "created")
    assert isinstance(dates, DateFilter)
    ranges = dates.ranges(dt.date(2024, 2, 29))
    assert [(label, str(a), str(b)) for label, a, b in ranges] == [
        ("Today", "2024-02-29", "2024-03-01"),
        ("Past 7 days", "2024-02-23", "2024-03-01"),
        ("This month", "2024-02-01", "2024-03-01"),
        ("This year", "2024-01-01", "2025-01-01"),
    ]
    choices = ListFilter.for_field(Post, "featured").choices({"featured__exact": "1"})
    assert [(c.label, c.selected) for c in choices] == [
        ("All", False),
        ("Yes", True),
        ("No", False),
    ]


# --- what a delete takes with it ------------------------------------------------------------------
def test_plan_deletion(site: Site) -> None:
    data = seed(site.db, 2)
    with site.db.session():
        first = Post.objects.get(id=data["posts"][0].id)
        for n in range(3):
            Remark.objects.create(post=first, text=f"R{n}", rating=1)
        plan = plan_deletion([first], label=object_repr)
        assert plan.summary() == ["1 post", "3 remarks"]
        assert [child.label for child in plan.roots[0].children] == [
            "Remark: R0",
            "Remark: R1",
            "Remark: R2",
        ]
        assert plan.protected == []
        section = Section.objects.get(id=data["news"].id)
        assert plan_deletion([section], label=object_repr).unlinked_summary() == ["2 posts"]
        assert plan_deletion([], label=object_repr).roots == []
