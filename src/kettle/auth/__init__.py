"""kettle.auth: users, sessions, permissions, guards and the pages to sign in.

::

    from kettle import App
    from kettle.auth import Auth, login_required, permission_required
    from kettle.db import Database

    app = App()
    db = Database(app)
    auth = Auth(app)        # request.user on every request, the pages under /auth

    @app.get("/drafts")
    @permission_required("article.change")
    def drafts(request: Request): ...

``User`` and ``ApiToken`` (tables ``auth_user`` and ``auth_api_token``) load on first
use, so a project with its own user model (``Auth(app, user_model=Member)``) never
declares them. Install with ``pip install "kettle[auth]"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kettle._lazy import lazy_getattr
from kettle.auth.account import AccountLink
from kettle.auth.core import Auth, AuthOptions, get_api_token, get_user
from kettle.auth.factors import SecondFactor
from kettle.auth.guards import Guard, guard, login_required, permission_required, role_required
from kettle.auth.hashers import Argon2Hasher, PasswordHasher
from kettle.auth.models import (
    AbstractApiToken,
    AbstractUser,
    AnonymousUser,
    Group,
    Permission,
    token_model_for,
)
from kettle.auth.permissions import async_permissions, perm_for, sync_permissions
from kettle.auth.ratelimit import Rate, RateLimit, RateLimited, rate_limit
from kettle.auth.throttling import MemoryThrottleStore, RedisThrottleStore, ThrottleStore
from kettle.auth.validators import PasswordValidationError, validate_password

if TYPE_CHECKING:
    from kettle.auth.user import ApiToken, User

__getattr__ = lazy_getattr(__name__, {"User": "kettle.auth.user", "ApiToken": "kettle.auth.user"})

__all__ = [
    "AbstractApiToken",
    "AbstractUser",
    "AccountLink",
    "AnonymousUser",
    "ApiToken",
    "Argon2Hasher",
    "Auth",
    "AuthOptions",
    "Group",
    "Guard",
    "MemoryThrottleStore",
    "PasswordHasher",
    "PasswordValidationError",
    "Permission",
    "Rate",
    "RateLimit",
    "RateLimited",
    "RedisThrottleStore",
    "SecondFactor",
    "ThrottleStore",
    "User",
    "async_permissions",
    "get_api_token",
    "get_user",
    "guard",
    "login_required",
    "perm_for",
    "permission_required",
    "rate_limit",
    "role_required",
    "sync_permissions",
    "token_model_for",
    "validate_password",
]
