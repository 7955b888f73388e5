"""The ready-made user model, ``User`` (table ``auth_user``), and its ``ApiToken``.

Imported only when used (``Auth(app)`` without ``user_model=``, or ``from kettle.auth
import User``), so a project with its own user model never gets an ``auth_user`` table::

    from kettle.auth import User

    with db.session():
        ann = User.objects.create(username="ann", email="ann@example.org")
"""

from __future__ import annotations

from kettle.auth.models import AbstractApiToken, AbstractUser
from kettle.db import fields


class User(AbstractUser):
    """A user account with the fields of ``AbstractUser``::

    ann = User(username="ann", email="ann@example.org")
    ann.set_password("tea-at-altitude-1865")
    ann.save()
    """

    class Meta:
        table_name = "auth_user"
        ordering = ["username"]
        #: Fixtures name a user by username (kettle.db.fixtures).
        natural_key = ("username",)


class ApiToken(AbstractApiToken):
    """An API token of a ``User`` (table ``auth_api_token``)::

    token, raw = ApiToken.issue(ann, "deploy script")
    """

    #: The user the token acts as; ``ann.api_tokens`` lists a user's tokens, and deleting
    #: the user deletes them.
    user: User = fields.foreign_key(User, related_name="api_tokens")

    class Meta:
        table_name = "auth_api_token"
        ordering = ["-created"]


User._kettle_api_token_model = ApiToken

__all__ = ["ApiToken", "User"]
