"""``ModelAdmin.fieldsets``: the change and add forms in titled sections, rows of fields,
collapsed sections and descriptions; the ``get_fieldsets`` hook; the start-up checks;
saving through a form in sections on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from adminsite import (
    FieldsetPostAdmin,
    Label,
    Post,
    PostAdmin,
    Remark,
    Section,
    Site,
    Status,
    make_site,
    post_form,
    seed,
)

from kettle.admin import ModelAdmin
from kettle.exceptions import ConfigurationError
from kettle.testing import TestClient

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


# --- reading the page -------------------------------------------------------------------------
@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def all_text(self) -> str:
        parts = [*self.text, *(c.all_text() for c in self.children)]
        return " ".join(" ".join(parts).split())

    def find_all(self, css_class: str) -> list[Node]:
        found = []
        for child in self.children:
            if css_class in child.classes:
                found.append(child)
            found += child.find_all(css_class)
        return found

    def first(self, css_class: str) -> Node | None:
        found = self.find_all(css_class)
        return found[0] if found else None

    def text_of(self, css_class: str) -> str:
        """The text of the first element with ``css_class`` inside (which must exist)."""
        found = self.first(css_class)
        assert found is not None, f"no .{css_class} in {self.tag}.{'.'.join(self.classes)}"
        return found.all_text()


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def tree(html: str) -> Node:
    parser = _Tree()
    parser.feed(html)
    return parser.root


def field_name(node: Node) -> str:
    return next(c[6:] for c in node.classes if c.startswith("field-"))


@dataclass
class Shown:
    """One section of a rendered form, as a reader sees it."""

    tag: str
    title: str | None
    description: str | None
    rows: list[list[str]]
    classes: list[str]
    open: bool
    node: Node


def sections(html: str) -> list[Shown]:
    """The sections of the change form, in page order."""
    form = tree(html).first("change-form")
    assert form is not None, html[:2000]
    shown = []
    for section in form.find_all("fieldset"):
        heading = section.first("fieldset-title")
        description = section.first("fieldset-description")
        fields = section.first("fields")
        assert fields is not None
        rows = []
        for child in fields.children:
            if "fieldset-row" in child.classes:
                rows.append([field_name(c) for c in child.children if "field" in c.classes])
            elif "field" in child.classes:
                rows.append([field_name(child)])
        shown.append(
            Shown(
                section.tag,
                heading.all_text() if heading is not None else None,
                description.all_text() if description is not None else None,
                rows,
                section.classes,
                "open" in section.attrs,
                section,
            )
        )
    return shown


def field_node(section: Shown, name: str) -> Node:
    return next(n for n in section.node.find_all("field") if field_name(n) == name)


@contextmanager
def signed_in(site: Site) -> Iterator[TestClient]:
    """A superuser's client on ``site``, closed after."""
    site.user("root", superuser=True)
    client = site.client("root")
    try:
        yield client
    finally:
        client.__exit__(None, None, None)


@pytest.fixture
def fieldsets_site(sqlite_site: Site) -> Site:
    sqlite_site.admin.register(Post, FieldsetPostAdmin)
    return sqlite_site


@pytest.fixture
def client(fieldsets_site: Site) -> Iterator[TestClient]:
    with signed_in(fieldsets_site) as made:
        yield made


# --- the form in sections -----------------------------------------------------------------------
def test_the_change_form_shows_the_sections_in_order(fieldsets_site: Site, client: Any) -> None:
    post = seed(fieldsets_site.db, 1)["posts"][0]
    page = client.get(f"/admin/post/{post.id}/change")
    assert page.status_code == 200
    shown = sections(page.text)
    assert [(s.title, s.rows) for s in shown] == [
        (None, [["title"], ["url"], ["writer"]]),
        ("Content", [["body"], ["status", "featured"]]),
        ("Moderation", [["score", "price"], ["published"], ["created", "word_count"]]),
    ]
    assert shown[1].description == "What readers see."
    assert shown[0].description is None
    # Fields the sections do not list are not on the form at all.
    for name in ("section", "labels", "secret"):
        assert f'name="{name}"' not in page.text
    # The inline rows come after the sections.
    assert page.text.index("remark-TOTAL_FORMS") > page.text.index("Staff only: scores")


def test_a_collapsed_section_is_a_closed_details_element(fieldsets_site: Site, client: Any) -> None:
    post = seed(fieldsets_site.db, 1)["posts"][0]
    moderation = sections(client.get(f"/admin/post/{post.id}/change").text)[2]
    assert moderation.tag == "details"
    assert not moderation.open
    assert "wide" in moderation.classes  # other classes are kept for the CSS
    summary = moderation.node.children[0]
    assert summary.tag == "summary"
    assert summary.all_text() == "Moderation"
    assert moderation.description == "Staff only: scores and dates."
    content = sections(client.get(f"/admin/post/{post.id}/change").text)[1]
    assert content.tag == "section"


def test_readonly_fields_render_read_only_inside_their_section(
    fieldsets_site: Site, client: Any
) -> None:
    post = seed(fieldsets_site.db, 1)["posts"][0]
    page = client.get(f"/admin/post/{post.id}/change").text
    moderation = sections(page)[2]
    words = field_node(moderation, "word_count")
    assert "readonly" in words.classes
    assert words.text_of("readonly-value") == "3"
    assert "readonly" in field_node(moderation, "created").classes
    assert 'name="created"' not in page
    assert 'name="word_count"' not in page
    assert 'name="score"' in page


def test_the_add_form_uses_the_sections_too(client: Any) -> None:
    page = client.get("/admin/post/add")
    assert page.status_code == 200
    assert [s.title for s in sections(page.text)] == [None, "Content", "Moderation"]
    assert 'name="section"' not in page.text


def test_an_admin_without_fieldsets_keeps_one_plain_card(sqlite_site: Site) -> None:
    with signed_in(sqlite_site) as client:
        page = client.get("/admin/post/add").text
    form = tree(page).first("change-form")
    assert form is not None
    assert form.find_all("fieldset") == []
    assert len(form.find_all("fields")) == 1
    assert 'name="section"' in page


# --- errors -----------------------------------------------------------------------------------
def test_errors_show_next_to_their_field_and_open_its_section(
    fieldsets_site: Site, client: Any
) -> None:
    made = seed(fieldsets_site.db, 1)
    url = f"/admin/post/{made['posts'][0].id}/change"
    data = {
        "title": "Spam again",
        "writer": str(made["ann"].id),
        "status": "draft",
        "score": "lots",
        "remark-TOTAL_FORMS": "0",
    }
    response = post_form(client, url, data)
    assert response.status_code == 400
    first, content, moderation = sections(response.text)
    assert moderation.tag == "details"
    assert moderation.open
    assert not content.open
    score = field_node(moderation, "score")
    assert "has-error" in score.classes
    assert score.text_of("errorlist") == "Enter a whole number."
    title = field_node(first, "title")
    assert title.text_of("errorlist") == "Titles may not mention spam."
    summary = tree(response.text).first("errornote")
    assert summary is not None
    assert "Please correct the 2 errors below." in summary.all_text()


class NoWriterAdmin(ModelAdmin):
    fieldsets = [("Post", {"fields": ["title"]})]


def test_a_problem_with_a_field_left_out_is_a_non_field_error_at_the_top(
    sqlite_site: Site,
) -> None:
    sqlite_site.admin.register(Post, NoWriterAdmin)
    with signed_in(sqlite_site) as client:
        response = post_form(client, "/admin/post/add", {"title": "Tea"})
    assert response.status_code == 400
    summary = tree(response.text).first("errornote")
    assert summary is not None
    assert "Writer:" in summary.all_text()
    assert "this field is not in the form" in summary.all_text()
    (only,) = sections(response.text)
    assert only.rows == [["title"]]


# --- the hook ---------------------------------------------------------------------------------
class ByObjectAdmin(PostAdmin):
    fieldsets = [(None, {"fields": ["title", "writer"]})]

    def get_fieldsets(self, request: Any, obj: Any = None) -> Any:
        found = list(super().get_fieldsets(request, obj))
        if obj is not None and obj.status is Status.PUBLISHED:
            found.append(("Published", {"fields": ["published", "score"]}))
        return found


def test_get_fieldsets_decides_per_object(sqlite_site: Site) -> None:
    sqlite_site.admin.register(Post, ByObjectAdmin)
    made = seed(sqlite_site.db, 3)
    draft, published = made["posts"][0], made["posts"][2]
    with signed_in(sqlite_site) as client:
        assert [s.title for s in sections(client.get("/admin/post/add").text)] == [None]
        draft_page = client.get(f"/admin/post/{draft.id}/change").text
        assert [s.title for s in sections(draft_page)] == [None]
        shown = sections(client.get(f"/admin/post/{published.id}/change").text)
        assert [(s.title, s.rows) for s in shown] == [
            (None, [["title"], ["writer"]]),
            ("Published", [["published"], ["score"]]),
        ]
        # The draft's form has no score field, so a posted score is not written.
        data = {"title": "Draft", "writer": str(made["ann"].id), "score": "99"}
        data["remark-TOTAL_FORMS"] = "0"
        assert post_form(client, f"/admin/post/{draft.id}/change", data).status_code == 303
    with sqlite_site.db.session():
        assert Post.objects.get(id=draft.id).score == draft.score


# --- saving, on every engine ----------------------------------------------------------------------
def test_saving_through_a_form_in_sections(site: Site, root: TestClient) -> None:
    site.admin.register(Post, FieldsetPostAdmin)
    made = seed(site.db, 1)
    post = made["posts"][0]
    with site.db.session():
        other = Section.objects.create(title="Other")
        Label.objects.create(name="kept-out")
    url = f"/admin/post/{post.id}/change"
    page = root.get(url)
    data = {
        "title": "In sections",
        "url": "https://example.org/sections",
        "writer": str(made["bob"].id),
        "body": "Grouped fields.",
        "status": "published",
        "featured": "on",
        "score": "7",
        "price": "2.50",
        "published": "2024-05-01",
        # Not in any section: ignored.
        "section": str(other.id),
        "secret": "pwned",
        "created": "1999-01-01T00:00:00",
        "remark-TOTAL_FORMS": "1",
        "remark-0-text": "Saved with the sections",
        "remark-0-rating": "5",
        "_continue": "1",
    }
    response = post_form(root, url, data, page.text)
    assert response.status_code == 303, response.text
    with site.db.session():
        saved = Post.objects.get(id=post.id)
        assert (saved.title, saved.url, saved.writer_id, saved.body) == (
            "In sections",
            "https://example.org/sections",
            made["bob"].id,
            "Grouped fields.",
        )
        assert (saved.status, saved.featured, saved.score, str(saved.price)) == (
            Status.PUBLISHED,
            True,
            7,
            "2.50",
        )
        assert saved.published is not None
        assert saved.published.isoformat() == "2024-05-01"
        assert saved.section_id == made["news"].id
        assert saved.secret == ""
        assert saved.created.year != 1999
        assert [r.text for r in Remark.objects.filter(post=saved)] == ["Saved with the sections"]
    added = post_form(
        root,
        "/admin/post/add",
        {
            "title": "Added in sections",
            "writer": str(made["ann"].id),
            "status": "draft",
            "remark-TOTAL_FORMS": "0",
        },
    )
    assert added.status_code == 303, added.text
    with site.db.session():
        assert Post.objects.get(title="Added in sections").score == 0


# --- checks -------------------------------------------------------------------------------------
def problems_of(tmp_path: Path, admin_class: type[ModelAdmin]) -> str:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'checks.sqlite3'}")
    site.admin.register(Post, admin_class)
    with pytest.raises(ConfigurationError) as error:
        site.admin.check()
    return str(error.value)


def test_the_test_admin_with_fieldsets_passes_its_checks(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'checks.sqlite3'}")
    site.admin.register(Post, FieldsetPostAdmin)
    site.admin.check()


def test_fields_and_fieldsets_together_are_refused(tmp_path: Path) -> None:
    class Both(ModelAdmin):
        fields = ["title"]
        fieldsets = [(None, {"fields": ["title"]})]

    text = problems_of(tmp_path, Both)
    assert "[admin.E110] Both: fields and fieldsets both say which fields" in text


def test_a_name_the_model_does_not_have_is_refused(tmp_path: Path) -> None:
    class Unknown(PostAdmin):
        fieldsets = [
            (None, {"fields": ["title", ("subtitle", "status")]}),
            ("Numbers", {"fields": ["word_count", "char_count"]}),
        ]

        def char_count(self, obj: Any) -> int:
            return len(obj.body)

    text = problems_of(tmp_path, Unknown)
    assert "[admin.E111] Unknown.fieldsets[0]: 'subtitle' is not a field of Post." in text
    assert (
        "[admin.E111] Unknown.fieldsets[1] ('Numbers'): 'char_count' is computed; "
        "list it in readonly_fields too."
    ) in text
    assert "word_count" not in text  # computed and in readonly_fields: fine


def test_a_field_listed_twice_is_refused(tmp_path: Path) -> None:
    class Twice(ModelAdmin):
        fieldsets = [
            (None, {"fields": ["title", ("status", "title")]}),
            ("More", {"fields": ["status"]}),
        ]

    text = problems_of(tmp_path, Twice)
    assert "[admin.E112] Twice.fieldsets[0]: 'title' is listed twice" in text
    assert "[admin.E112] Twice.fieldsets[1] ('More'): 'status' is listed twice" in text


@pytest.mark.parametrize(
    ("fieldsets", "message"),
    [
        ({"fields": ["title"]}, "fieldsets is a list of (title, options) pairs"),
        ([("Main", ["title"])], "fieldsets[0] ('Main'): the options are a dict"),
        ([("Main", {})], "fieldsets[0] ('Main'): the options need \"fields\""),
        ([(None, {"fields": "title"})], 'fieldsets[0]: "fields" is a list of names'),
        (
            [(None, {"fields": ["title"], "collapsed": True})],
            "fieldsets[0]: unknown option 'collapsed' (the options are fields, classes, "
            "description)",
        ),
        (
            [(None, {"fields": ["title"], "classes": ["collapse"]})],
            "fieldsets[0]: a collapsed section needs a title",
        ),
        (
            [(None, {"fields": ["title"], "classes": "collapse"})],
            'fieldsets[0]: "classes" is a list',
        ),
        ([(None, {"fields": [("title", 3)]})], "fieldsets[0]: 3 is not a field name"),
    ],
)
def test_a_malformed_fieldsets_is_refused(tmp_path: Path, fieldsets: Any, message: str) -> None:
    admin_class = type("Malformed", (ModelAdmin,), {"fieldsets": fieldsets})
    text = problems_of(tmp_path, admin_class)
    assert f"[admin.E109] Malformed.{message}" in text, text


def test_an_unknown_option_is_reported(tmp_path: Path) -> None:
    class Typos(ModelAdmin):
        list_dispaly = ["title"]
        fieldset = [(None, {"fields": ["title"]})]
        list_editable = ["title"]
        page_note = "An attribute of the project's own is fine."

    text = problems_of(tmp_path, Typos)
    assert (
        "[admin.E113] Typos.list_dispaly is not an option of ModelAdmin; did you mean list_display?"
    ) in text
    assert (
        "[admin.E113] Typos.fieldset is not an option of ModelAdmin; did you mean fieldsets?"
        in text
    )
    assert "[admin.E113] Typos.list_editable is not an option of ModelAdmin" in text
    assert "page_note" not in text
