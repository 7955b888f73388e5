"""What the admin tests share: an app with the database, auth and the admin, users with
chosen permissions, and helpers to sign in and post forms."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adminmodels import Label, Post, Remark, Reply, Section, Shelf, ShelfItem, Status, Writer

from htmlforms import csrf_from
from kettle import App, Settings
from kettle.admin import AdminSite, ModelAdmin, TabularInline, action
from kettle.auth import (
    Argon2Hasher,
    Auth,
    AuthOptions,
    Group,
    Permission,
    User,
    sync_permissions,
)
from kettle.db import Database
from kettle.testing import TestClient

#: Argon2id with tiny costs: the tests create many users.
FAST_HASHER = Argon2Hasher(memory_cost=256, time_cost=1)
PASSWORD = "tea-at-altitude-1865"


@action(description="Mark as published")
def publish(admin: Any, request: Any, queryset: Any) -> str:
    count = queryset.update(status=Status.PUBLISHED)
    return f"{count} posts published."


class RemarkInline(TabularInline):
    model = Remark
    fields = ["text", "rating"]
    extra = 1


class PostAdmin(ModelAdmin):
    list_display = ["title", "writer", "status", "featured", "score", "created"]
    search_fields = ["title", "writer__name"]
    list_filter = ["status", "featured", "writer", "created"]
    readonly_fields = ["created", "word_count"]
    autocomplete_fields = ["writer"]
    inlines = [RemarkInline]
    actions = [publish]
    list_per_page = 10

    def word_count(self, obj: Post) -> int:
        return len(obj.body.split())


class FieldsetPostAdmin(PostAdmin):
    """``PostAdmin`` with its form in sections: a row of two fields, a collapsed section,
    read-only fields inside one; ``section``, ``labels`` and ``secret`` left out."""

    fieldsets = [
        (None, {"fields": ["title", "url", "writer"]}),
        (
            "Content",
            {"fields": ["body", ("status", "featured")], "description": "What readers see."},
        ),
        (
            "Moderation",
            {
                "fields": [("score", "price"), "published", ("created", "word_count")],
                "classes": ["collapse", "wide"],
                "description": "Staff only: scores and dates.",
            },
        ),
    ]


class WriterAdmin(ModelAdmin):
    list_display = ["name", "email", "active"]
    ordering = ["name"]
    search_fields = ["name"]
    list_filter = ["active"]


@dataclass
class Site:
    """An app with kettle.db, kettle.auth and kettle.admin on one engine."""

    app: App
    db: Database
    auth: Auth
    admin: AdminSite

    def user(
        self,
        username: str,
        *,
        perms: Iterable[str] = (),
        staff: bool = True,
        superuser: bool = False,
    ) -> User:
        """A saved user with ``perms`` (through a group of their own)."""
        sync_permissions(self.db)
        with self.db.session():
            user = User(
                username=username,
                email=f"{username}@example.org",
                is_staff=staff,
                is_superuser=superuser,
            )
            user.set_password(PASSWORD)
            user.save()
            wanted = list(perms)
            if wanted:
                found = list(Permission.objects.filter(codename__in=wanted))
                assert len(found) == len(wanted), f"unknown permissions in {wanted}"
                group = Group.objects.create(name=f"{username}-group", permissions=found)
                user.groups = [group]
                user.save()
        return user

    def client(self, username: str | None = None) -> TestClient:
        """A started client, signed in as ``username`` if given (close it after)."""
        client = TestClient(self.app).__enter__()
        if username is not None:
            login(client, username)
        return client


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    page = client.get("/auth/login")
    response = client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303, response.text


def post_form(client: TestClient, url: str, data: dict[str, Any], page: str | None = None) -> Any:
    """POST ``data`` to ``url`` with the CSRF token of ``page`` (default: GET ``url``)."""
    html = page if page is not None else client.get(url).text
    return client.post(url, data={**data, "csrf_token": csrf_from(html)})


def all_perms(*tables: str) -> list[str]:
    """Every permission on ``tables``: ``all_perms("post")``."""
    return [f"{t}.{a}" for t in tables for a in ("view", "add", "change", "delete")]


def make_site(root: Path, url: str) -> Site:
    """A fresh app on ``url`` (the caller creates and drops the tables)."""
    app = App(settings=Settings.load(env="testing", env_file=None), root=root)
    db = Database(app, url=url)
    auth = Auth(app, options=AuthOptions(hasher=FAST_HASHER))
    admin = AdminSite(app, title="Magazine admin")
    admin.register(Post, PostAdmin)
    admin.register(Writer, WriterAdmin)
    admin.register(Section)
    admin.register(Label)
    admin.register(Remark)
    admin.register(Reply)
    admin.register(Shelf)
    admin.register(ShelfItem)
    return Site(app, db, auth, admin)


def seed(db: Database, posts: int = 3) -> dict[str, Any]:
    """A few writers, sections and posts; returns them by name."""
    with db.session():
        ann = Writer.objects.create(name="Ann", email="ann@example.org")
        bob = Writer.objects.create(name="Bob", active=False)
        news = Section.objects.create(title="News")
        Label.objects.create(name="tea")
        made = [
            Post.objects.create(
                title=f"Post {n}",
                writer=ann if n % 2 else bob,
                section=news,
                score=n,
                body="one two three",
                status=Status.PUBLISHED if n % 3 == 0 else Status.DRAFT,
            )
            for n in range(1, posts + 1)
        ]
    return {"ann": ann, "bob": bob, "news": news, "posts": made}


__all__ = [
    "PASSWORD",
    "FieldsetPostAdmin",
    "Label",
    "Post",
    "PostAdmin",
    "Remark",
    "RemarkInline",
    "Reply",
    "Section",
    "Shelf",
    "ShelfItem",
    "Site",
    "Status",
    "Writer",
    "WriterAdmin",
    "all_perms",
    "csrf_from",
    "login",
    "make_site",
    "post_form",
    "publish",
    "seed",
]
