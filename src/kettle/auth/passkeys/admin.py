"""Users' passkeys in the admin: a list of their own, and an inline on the user's page.
Staff never add or edit one (a passkey is made by its owner's authenticator), but staff
with ``<user table>_passkey.delete`` may delete one, from either page: a lost device's
passkey, say::

    from kettle.auth.passkeys import passkey_model_for
    from kettle.auth.passkeys.admin import PasskeyAdmin, passkey_inline

    admin.register(passkey_model_for(User), PasskeyAdmin)

    class UserAdmin(ModelAdmin):
        inlines = [passkey_inline(User)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kettle.admin.inlines import TabularInline
from kettle.admin.options import ModelAdmin
from kettle.auth.passkeys.models import passkey_model_for

if TYPE_CHECKING:
    from kettle.auth.models import AbstractUser
    from kettle.requests import Request

#: What both show of a passkey (never its key material: the public key and the credential
#: id say nothing to a person, and nothing secret is stored).
COLUMNS = ("name", "created", "last_used", "sign_count", "backed_up")


class PasskeyAdmin(ModelAdmin):
    """The admin of a passkey model: whose passkeys, named how, used when; searched by
    username or name. Read-only; deleting one is the one change staff can make::

        admin.register(passkey_model_for(User), PasskeyAdmin)
    """

    list_display = ("user", *COLUMNS)
    search_fields = ("user__username", "name")
    list_filter = ("backed_up", "created", "last_used")
    ordering = ("-created",)
    fields = ("user", *COLUMNS)
    readonly_fields = ("user", *COLUMNS)

    def has_add_permission(self, request: Request) -> bool:
        """Never: a passkey needs its owner's authenticator."""
        return False


class PasskeyInline(TabularInline):
    """A user's passkeys on their admin page (see ``passkey_inline``): read-only rows,
    each with a delete box for staff who may delete passkeys."""

    fields = COLUMNS
    readonly_fields = COLUMNS
    extra = 0
    can_delete = True

    def has_add_permission(self, request: Request) -> bool:
        """Never, as ``PasskeyAdmin``."""
        return False

    def has_change_permission(self, request: Request, obj: Any = None) -> bool:
        """Never: the rows are what the authenticator registered."""
        return False


def passkey_inline(user_model: type[AbstractUser]) -> type[PasskeyInline]:
    """The inline of ``user_model``'s passkeys, for its ``ModelAdmin.inlines``::

    class UserAdmin(ModelAdmin):
        inlines = [passkey_inline(User)]
    """
    model = passkey_model_for(user_model)
    return type(f"{model.__name__}Inline", (PasskeyInline,), {"model": model})


__all__ = ["COLUMNS", "PasskeyAdmin", "PasskeyInline", "passkey_inline"]
