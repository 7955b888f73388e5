"""What the resource tests share: the resources they mount and helpers to fill a site."""

from __future__ import annotations

from typing import Any

from authsite import Site
from resourcemodels import Post, Remark

from kettle.auth import Permission, User
from kettle.resources import Resource


class PostResource(Resource):
    model = Post
    fields = ("id", "title", "body", "score", "stage", "link", "created", "author", "author_id")
    read_only_fields = ("score",)
    nested = {"author": ("id", "username")}
    filters = {
        "author__username": ("exact",),
        "score": ("gte", "lte"),
        "stage": ("exact", "in"),
        "created": ("gte",),
    }
    ordering = ("score", "created", "title")
    search_fields = ("title", "body")
    page_size = 2
    max_page_size = 50


class RemarkedPostResource(PostResource):
    """Posts with their remarks nested (a to-many relation: one prefetch per page)."""

    fields = (*PostResource.fields, "remarks")
    nested = {**PostResource.nested, "remarks": ("id", "text")}


def grant(site: Site, username: str, *codenames: str) -> None:
    """Give the user ``username`` the permissions ``codenames`` (committed)."""
    with site.db.session():
        user = User.objects.get(username=username)
        user.permissions.extend(Permission.objects.filter(codename__in=codenames))
        user.save()


def posts(site: Site, author: str, *titles: str, **values: Any) -> list[int]:
    """Save a post per title by ``author``; returns their ids."""
    with site.db.session():
        user = User.objects.get(username=author)
        made = []
        for i, title in enumerate(titles):
            post = Post(title=title, author_id=user.id, **{"score": i, **values})
            post.save()
            made.append(post.id)
    return made


def remark(site: Site, post_id: int, *texts: str) -> None:
    """Add remarks to a post."""
    with site.db.session():
        for text in texts:
            Remark(post_id=post_id, text=text).save()
