"""``ApiTokenAdmin``: the API tokens of ``kettle.auth`` in the admin, to watch and revoke.

A site that shows its accounts in the admin registers the token model with it::

    from kettle.admin import ApiTokenAdmin
    from kettle.auth import ApiToken

    admin.register(ApiToken, ApiTokenAdmin)   # or token_model_for(Member)

The list shows each token's user, name, prefix, creation, last use, expiry and
revocation, searches by username and name, and revokes the ticked tokens in bulk. The
hash is never shown nor set; only the name may be changed, and tokens are issued by
their owners (``/auth/tokens``, an API), never in the admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kettle.admin.actions import action
from kettle.admin.options import ModelAdmin
from kettle.db import QuerySet, fields

if TYPE_CHECKING:
    from kettle.requests import Request


@action(description="Revoke selected tokens", name="revoke_tokens")
def revoke_tokens(admin: Any, request: Any, queryset: QuerySet[Any]) -> str:
    """Revoke the chosen tokens that are still live (revoked ones keep their time)::

    ApiTokenAdmin.actions   # [revoke_tokens]
    """
    count = queryset.filter(revoked=None).update(revoked=fields.now())
    return f"{count} token(s) revoked."


class ApiTokenAdmin(ModelAdmin):
    """The admin of an API token model (see the module docstring)::

    admin.register(ApiToken, ApiTokenAdmin)
    """

    list_display = ("user", "name", "prefix", "created", "last_used", "expires", "revoked")
    search_fields = ("user__username", "name")
    list_filter = ("created", "last_used", "expires", "revoked")
    ordering = ("-created",)
    fields = ("user", "name", "prefix", "state", "created", "last_used", "expires", "revoked")
    readonly_fields = ("user", "prefix", "state", "created", "last_used", "expires", "revoked")
    actions = (revoke_tokens,)

    def has_add_permission(self, request: Request) -> bool:
        """Never: a token is issued to its owner, who alone sees it once."""
        return False

    def state(self, token: Any) -> str:
        """Whether the token works: active, expired or revoked."""
        return str(token.state)


__all__ = ["ApiTokenAdmin", "revoke_tokens"]
