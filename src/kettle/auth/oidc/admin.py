"""The linked sign-in accounts in the admin: a list of their own, and an inline on the
user's page. Both read-only: links are made by their owners signing in, never by staff::

    from kettle.auth.oidc import identity_model_for
    from kettle.auth.oidc.admin import IdentityAdmin, identity_inline

    UserIdentity = identity_model_for(User)
    admin.register(UserIdentity, IdentityAdmin)

    class UserAdmin(ModelAdmin):
        inlines = [identity_inline(User)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kettle.admin.inlines import TabularInline
from kettle.admin.options import ModelAdmin
from kettle.auth.oidc.models import identity_model_for

if TYPE_CHECKING:
    from kettle.auth.models import AbstractUser
    from kettle.requests import Request

#: What both show of a link (never anything secret: no token is stored).
COLUMNS = ("provider", "subject", "email", "email_verified", "created", "last_used")


class IdentityAdmin(ModelAdmin):
    """The admin of an identity model: who is linked to which provider account, searched
    by username, address or subject; staff may delete a link, never make one::

        admin.register(identity_model_for(User), IdentityAdmin)
    """

    list_display = ("user", *COLUMNS)
    search_fields = ("user__username", "email", "subject")
    list_filter = ("email_verified", "created", "last_used")
    ordering = ("-created",)
    fields = ("user", *COLUMNS)
    readonly_fields = ("user", *COLUMNS)

    def has_add_permission(self, request: Request) -> bool:
        """Never: a link needs its owner to sign in at the provider."""
        return False


class IdentityInline(TabularInline):
    """The linked providers on a user's admin page, read-only (see ``identity_inline``)."""

    fields = COLUMNS
    readonly_fields = COLUMNS
    extra = 0
    can_delete = False

    def has_add_permission(self, request: Request) -> bool:
        """Never, as ``IdentityAdmin``."""
        return False

    def has_change_permission(self, request: Request, obj: Any = None) -> bool:
        """Never: the rows are the provider's assertions."""
        return False


def identity_inline(user_model: type[AbstractUser]) -> type[IdentityInline]:
    """The inline of ``user_model``'s identities, for its ``ModelAdmin.inlines``::

    class UserAdmin(ModelAdmin):
        inlines = [identity_inline(User)]
    """
    model = identity_model_for(user_model)
    return type(f"{model.__name__}Inline", (IdentityInline,), {"model": model})


__all__ = ["COLUMNS", "IdentityAdmin", "IdentityInline", "identity_inline"]
