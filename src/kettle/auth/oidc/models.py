"""The identity model: which provider account (provider, subject) signs in which user.

Each user model gets its own, declared on first use by ``identity_model_for`` (table
``<user table>_identity``), as ``token_model_for`` declares API tokens::

    UserIdentity = identity_model_for(User)
    UserIdentity.objects.filter(user_id=ann.id).values_list("provider", flat=True)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kettle.auth.models import model_for
from kettle.db import Model, fields

if TYPE_CHECKING:
    from kettle.auth.models import AbstractUser


class AbstractIdentity(Model):
    """One account at a sign-in provider, linked to one user; unique per (provider,
    subject). Made by ``kettle.auth.oidc`` when someone signs in or links a provider::

        identity.provider, identity.subject   # ("github", "583231")
        identity.email, identity.email_verified   # as the provider asserted them
    """

    __abstract__ = True

    if TYPE_CHECKING:  # declared on each concrete model by ``identity_model_for``
        id: int
        provider: str
        subject: str
        email: str
        email_verified: bool
        created: dt.datetime
        last_used: dt.datetime | None
        user_id: int
        user: AbstractUser

    def __str__(self) -> str:
        return f"{self.provider}: {self.email or self.subject}"


def _identity_fields() -> dict[str, Any]:
    return {
        # The name the site gave the provider (``OIDCProvider("acme", ...)``).
        "provider": fields.string(max_length=50, editable=False),
        # The provider's stable id of the account: ``sub`` of OpenID Connect, GitHub's id.
        "subject": fields.string(max_length=255, editable=False),
        # The address the provider asserted at the last sign-in, and whether it said it
        # had verified it.
        "email": fields.email(default="", blank=True, editable=False),
        "email_verified": fields.boolean(editable=False),
        "created": fields.datetime(auto_now_add=True),
        "last_used": fields.datetime(null=True, editable=False),
    }


def identity_model_for(user_model: type[AbstractUser]) -> type[AbstractIdentity]:
    """The identity model of ``user_model``, declared on first call (table
    ``<user table>_identity``; ``user.identities`` lists a user's)::

        MemberIdentity = identity_model_for(Member)
    """
    table = f"{user_model.__tablename__}_identity"
    meta = {
        "ordering": ["provider", "id"],
        "constraints": [sa.UniqueConstraint("provider", "subject", name=f"uq_{table}_subject")],
    }
    link = fields.foreign_key(user_model, related_name="identities")
    return model_for(
        user_model, AbstractIdentity, "identity", link, meta=meta, namespace=_identity_fields()
    )


__all__ = ["AbstractIdentity", "identity_model_for"]
