"""The admin (``/admin``): articles and comments for editors, accounts for admins.

Editors may view and change articles and comments: filter on hidden/featured/locked and
hide, feature or lock many at once. Admins manage accounts and roles (``auth_user``,
``auth_group``), watch and revoke API tokens (``auth_api_token``), and see and delete
users' passkeys and linked sign-in accounts (on the user's page, and
``auth_user_passkey``, ``auth_user_identity``). Every page checks these permissions (see
``news.roles``).
"""

from __future__ import annotations

from typing import Any

from kettle.admin import AdminSite, ApiTokenAdmin, ModelAdmin, action
from kettle.auth import ApiToken, Group, User
from kettle.auth.oidc import identity_model_for
from kettle.auth.oidc.admin import IdentityAdmin, identity_inline
from kettle.auth.passkeys import passkey_model_for
from kettle.auth.passkeys.admin import PasskeyAdmin, passkey_inline
from kettle.tasks.admin import register_tasks
from news.comments import recount
from news.models import Article, Comment
from news.web import lists_changed


def _setter(field: str, value: bool, name: str) -> Any:
    description = name.capitalize()

    @action(description=description, name=name)
    def run(admin: Any, request: Any, queryset: Any) -> str:
        count = queryset.update(**{field: value})
        lists_changed(request)  # hidden and featured change what the lists show
        return f"{description}: {count} row(s) changed."

    return run


hide = _setter("hidden", True, "hide")
unhide = _setter("hidden", False, "unhide")
feature = _setter("featured", True, "feature")
unfeature = _setter("featured", False, "unfeature")
lock = _setter("locked", True, "lock")
unlock = _setter("locked", False, "unlock")


class ArticleAdmin(ModelAdmin):
    list_display = [
        "title",
        "author",
        "domain",
        "points",
        "comment_count",
        "hidden",
        "featured",
        "locked",
        "created",
    ]
    search_fields = ["title", "url", "author__username"]
    list_filter = ["hidden", "featured", "locked", "created"]
    ordering = ["-created"]
    readonly_fields = ["points", "comment_count", "created"]
    autocomplete_fields = ["author"]
    actions = [hide, unhide, feature, unfeature, lock, unlock]
    list_per_page = 50

    def save_model(self, request: Any, obj: Article, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        lists_changed(request)

    def delete_model(self, request: Any, obj: Article) -> None:
        super().delete_model(request, obj)
        lists_changed(request)

    def delete_queryset(self, request: Any, queryset: Any) -> int:
        count = super().delete_queryset(request, queryset)
        lists_changed(request)
        return int(count)


@action(description="Hide", name="hide")
def hide_comments(admin: Any, request: Any, queryset: Any) -> str:
    return _moderate_comments(queryset, hidden=True)


@action(description="Unhide", name="unhide")
def unhide_comments(admin: Any, request: Any, queryset: Any) -> str:
    return _moderate_comments(queryset, hidden=False)


def _moderate_comments(queryset: Any, hidden: bool) -> str:
    article_ids = list(queryset.values_list("article_id", flat=True))
    count = queryset.update(hidden=hidden)
    recount(article_ids)  # comment_count is what readers see
    return f"{'Hide' if hidden else 'Unhide'}: {count} row(s) changed."


class CommentAdmin(ModelAdmin):
    list_display = ["short", "author", "article", "points", "hidden", "deleted", "created"]
    search_fields = ["body", "author__username"]
    list_filter = ["hidden", "deleted", "created"]
    ordering = ["-created"]
    readonly_fields = ["points", "created", "edited"]
    autocomplete_fields = ["author", "article", "parent"]
    actions = [hide_comments, unhide_comments]
    list_per_page = 50

    def save_model(self, request: Any, obj: Comment, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        recount([obj.article_id])  # hidden or deleted may have changed, or the article

    def delete_model(self, request: Any, obj: Comment) -> None:
        article_id = obj.article_id
        super().delete_model(request, obj)
        recount([article_id])

    def delete_queryset(self, request: Any, queryset: Any) -> int:
        article_ids = list(queryset.values_list("article_id", flat=True))
        count = super().delete_queryset(request, queryset)
        recount(article_ids)
        return int(count)

    def short(self, comment: Comment) -> str:
        return comment.body[:80]


class UserAdmin(ModelAdmin):
    list_display = ["username", "email", "is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["username", "email"]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    ordering = ["username"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [passkey_inline(User), identity_inline(User)]


class GroupAdmin(ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


def register(site: AdminSite) -> None:
    """Register the site's models on ``site``."""
    site.register(Article, ArticleAdmin)
    site.register(Comment, CommentAdmin)
    site.register(User, UserAdmin)
    site.register(Group, GroupAdmin)
    site.register(ApiToken, ApiTokenAdmin)
    site.register(passkey_model_for(User), PasskeyAdmin)
    site.register(identity_model_for(User), IdentityAdmin)
    register_tasks(site)  # the queued mail and rankings (kettle.tasks' table)


__all__ = ["ArticleAdmin", "CommentAdmin", "GroupAdmin", "UserAdmin", "register"]
