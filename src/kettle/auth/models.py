"""The auth models: users (abstract, to extend), groups, permissions and API tokens.

A project either uses ``kettle.auth.User`` (table ``auth_user``) or declares its own
user model on ``AbstractUser`` and hands it to ``Auth``::

    class Member(AbstractUser):
        display_name: str = fields.string(max_length=80, default="")

    auth = Auth(app, user_model=Member)

Every concrete user model gets ``groups`` and ``permissions`` many-to-many links (tables
``<user table>_groups`` and ``<user table>_permissions``). A group's name is a role.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any, ClassVar

from kettle.db import Model, fields

if TYPE_CHECKING:
    from kettle.auth.core import Auth

#: Stored hashes that start with this never match a password (``set_unusable_password``).
UNUSABLE_PREFIX = "!"


class Permission(Model):
    """One permission, ``"<table>.<action>"`` (``"article.change"``); see ``perm_for``::

    Permission.objects.get(codename="article.change").name   # "Can change article"
    """

    codename: str = fields.string(max_length=150, unique=True)
    name: str = fields.string(max_length=255)

    class Meta:
        table_name = "auth_permission"
        ordering = ["codename"]

    def __str__(self) -> str:
        return self.codename


class Group(Model):
    """A named set of permissions; its name is the role ``role_required`` checks::

    editors = Group.objects.create(name="editor", permissions=[change_article])
    """

    name: str = fields.string(max_length=150, unique=True)
    permissions: list[Permission] = fields.many_to_many(Permission)

    class Meta:
        table_name = "auth_group"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AbstractUser(Model):
    """The fields and methods of a user; subclass it for a project's own user model.

    Passwords are stored as Argon2id hashes (``set_password``); permissions come from the
    user's own ``permissions`` and their groups'. Methods that query have async twins::

        user.set_password("tea-at-altitude-1865")
        user.has_perm("article.change")              # def code
        await user.ahas_perm("article.change", obj)  # async def code
    """

    __abstract__ = True

    if TYPE_CHECKING:  # declared on each concrete subclass by __init_subclass__
        id: int
        username: str
        email: str
        password: str
        is_active: bool
        is_staff: bool
        is_superuser: bool
        date_joined: dt.datetime
        last_login: dt.datetime | None
        groups: list[Group]
        permissions: list[Permission]

    #: Set by ``Auth`` for the model it serves: its hasher and object-permission hooks.
    _kettle_auth: ClassVar[Auth | None] = None
    #: The ``ApiToken`` model linked to this user model (see ``token_model_for``).
    _kettle_token_model: ClassVar[type[AbstractApiToken] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if not cls.__dict__.get("__abstract__", False):
            _declare(cls, _user_fields())
        super().__init_subclass__(**kwargs)

    @property
    def is_authenticated(self) -> bool:
        """Always True for a user (``AnonymousUser`` says False)."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Always False for a user."""
        return False

    def __str__(self) -> str:
        return self.username

    # --- passwords ------------------------------------------------------------------------
    def set_password(self, raw: str) -> None:
        """Store an Argon2id hash of ``raw`` (call ``save()`` after); not validated here,
        see ``Auth.validate_password``::

            user.set_password("tea-at-altitude-1865")
            user.save()
        """
        from kettle.auth.core import hasher_for

        self.password = hasher_for(type(self)).hash(raw)

    def check_password(self, raw: str) -> bool:
        """Whether ``raw`` is the password (always False for an unusable one)::

        assert user.check_password("tea-at-altitude-1865")
        """
        from kettle.auth.core import hasher_for

        hasher = hasher_for(type(self))
        if not self.has_usable_password():
            from kettle.auth.hashers import dummy_verify

            dummy_verify(hasher, raw)  # the same work either way
            return False
        return hasher.verify(self.password, raw)

    def set_unusable_password(self) -> None:
        """Make every password fail (accounts that sign in some other way)."""
        self.password = UNUSABLE_PREFIX + secrets.token_urlsafe(30)

    def has_usable_password(self) -> bool:
        """False after ``set_unusable_password()`` or when no password was ever set."""
        return bool(self.password) and not self.password.startswith(UNUSABLE_PREFIX)

    # --- permissions (queries in kettle.auth.permissions) -------------------------------------
    def get_all_permissions(self) -> set[str]:
        """Every permission string the user has, own and through groups (cached)::

        user.get_all_permissions()   # {"article.change", "article.view"}
        """
        from kettle.auth import permissions

        return permissions.all_for(self)

    async def aget_all_permissions(self) -> set[str]:
        """``get_all_permissions()`` for async code."""
        from kettle.auth import permissions

        return await permissions.aall_for(self)

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """Whether the user may do ``perm`` (on ``obj``, asking the object hooks first).

        Inactive users have no permission, superusers every one::

            user.has_perm("article.change")
            user.has_perm("article.change", article)   # Auth.object_permission hooks
        """
        from kettle.auth import permissions

        return permissions.has_perm(self, perm, obj)

    async def ahas_perm(self, perm: str, obj: Any = None) -> bool:
        """``has_perm()`` for async code: ``await user.ahas_perm("article.change")``."""
        from kettle.auth import permissions

        return await permissions.ahas_perm(self, perm, obj)

    def has_perms(self, perms: list[str] | tuple[str, ...], obj: Any = None) -> bool:
        """Whether the user has every one of ``perms``::

        user.has_perms(["article.add", "article.change"])
        """
        return all(self.has_perm(perm, obj) for perm in perms)

    async def ahas_perms(self, perms: list[str] | tuple[str, ...], obj: Any = None) -> bool:
        """``has_perms()`` for async code."""
        for perm in perms:
            if not await self.ahas_perm(perm, obj):
                return False
        return True

    def get_roles(self) -> set[str]:
        """The names of the user's groups: ``user.get_roles()   # {"editor"}``."""
        from kettle.auth import permissions

        return permissions.roles_for(self)

    async def aget_roles(self) -> set[str]:
        """``get_roles()`` for async code."""
        from kettle.auth import permissions

        return await permissions.aroles_for(self)

    def has_role(self, role: str) -> bool:
        """Whether the user is in the group named ``role`` (superusers: always)::

        user.has_role("editor")
        """
        if not self.is_active:
            return False
        return self.is_superuser or role in self.get_roles()

    async def ahas_role(self, role: str) -> bool:
        """``has_role()`` for async code."""
        if not self.is_active:
            return False
        return self.is_superuser or role in await self.aget_roles()


class AnonymousUser:
    """``request.user`` when nobody is signed in: not authenticated, no permissions::

    if not request.user.is_authenticated:
        return RedirectResponse("/auth/login", status=303)
    """

    id = None
    pk = None
    username = ""
    email = ""
    is_active = False
    is_staff = False
    is_superuser = False
    is_authenticated = False
    is_anonymous = True

    def __repr__(self) -> str:
        return "<AnonymousUser>"

    def __str__(self) -> str:
        return "AnonymousUser"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnonymousUser)

    def __hash__(self) -> int:
        return 1

    def get_all_permissions(self) -> set[str]:
        return set()

    async def aget_all_permissions(self) -> set[str]:
        return set()

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    async def ahas_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perms: list[str] | tuple[str, ...], obj: Any = None) -> bool:
        return False

    async def ahas_perms(self, perms: list[str] | tuple[str, ...], obj: Any = None) -> bool:
        return False

    def get_roles(self) -> set[str]:
        return set()

    async def aget_roles(self) -> set[str]:
        return set()

    def has_role(self, role: str) -> bool:
        return False

    async def ahas_role(self, role: str) -> bool:
        return False


class AbstractApiToken(Model):
    """A named API token of a user; only a SHA-256 hash of the token is stored.

    The concrete model of a user model comes from ``token_model_for`` (``ApiToken`` for
    ``User``); create tokens with ``issue`` and show the raw token once::

        token, raw = ApiToken.issue(user, "deploy script")
        print(raw)          # kt_...; send as "Authorization: Bearer kt_..."
        token.revoke()
    """

    __abstract__ = True

    if TYPE_CHECKING:  # declared on each concrete subclass by __init_subclass__
        id: int
        name: str
        key_hash: str
        prefix: str
        created: dt.datetime
        last_used: dt.datetime | None
        expires: dt.datetime | None
        revoked: dt.datetime | None
        user_id: int
        user: AbstractUser

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if not cls.__dict__.get("__abstract__", False):
            _declare(cls, _token_fields())
        super().__init_subclass__(**kwargs)

    @property
    def is_valid(self) -> bool:
        """Not revoked and not expired."""
        if self.revoked is not None:
            return False
        return self.expires is None or self.expires > fields.now()

    @classmethod
    def issue(cls, user: AbstractUser, name: str, **values: Any) -> tuple[Any, str]:
        """Create a token for ``user``; returns the row and the raw token (shown once)::

        token, raw = ApiToken.issue(ann, "laptop")
        """
        from kettle.auth.tokens import new_api_token

        raw, digest = new_api_token()
        token = cls.objects.create(user=user, name=name, key_hash=digest, prefix=raw[:10], **values)
        return token, raw

    @classmethod
    async def aissue(cls, user: AbstractUser, name: str, **values: Any) -> tuple[Any, str]:
        """``issue()`` for async code."""
        from kettle.auth.tokens import new_api_token

        raw, digest = new_api_token()
        token = await cls.objects.acreate(
            user=user, name=name, key_hash=digest, prefix=raw[:10], **values
        )
        return token, raw

    def revoke(self) -> None:
        """Revoke the token now; requests bearing it get 401 from then on."""
        self.revoked = fields.now()
        self.save()

    async def arevoke(self) -> None:
        """``revoke()`` for async code."""
        self.revoked = fields.now()
        await self.asave()


# NOTE: the abstract models declare these on each concrete subclass (``_declare``), which
# predates kettle.db copying an abstract model's fields to its subclasses; either way each
# user model gets columns of its own.
def _user_fields() -> dict[str, Any]:
    return {
        "username": fields.string(max_length=150, unique=True),
        "email": fields.email(default="", blank=True, index=True),
        "password": fields.string(max_length=255, default="", blank=True, editable=False),
        "is_active": fields.boolean(default=True),
        "is_staff": fields.boolean(help_text="May use the admin."),
        "is_superuser": fields.boolean(help_text="Has every permission."),
        "date_joined": fields.datetime(auto_now_add=True),
        "last_login": fields.datetime(null=True, editable=False),
        # Each concrete user model gets its own links and association tables.
        "groups": fields.many_to_many(Group),
        "permissions": fields.many_to_many(Permission),
    }


def _token_fields() -> dict[str, Any]:
    return {
        "name": fields.string(max_length=100),
        "key_hash": fields.string(max_length=64, unique=True, editable=False),
        # The first characters of the token, to tell tokens apart in lists.
        "prefix": fields.string(max_length=16, editable=False),
        "created": fields.datetime(auto_now_add=True),
        "last_used": fields.datetime(null=True, editable=False),
        "expires": fields.datetime(null=True),
        "revoked": fields.datetime(null=True, editable=False),
    }


def _declare(cls: type[Model], declared: dict[str, Any]) -> None:
    """Add the fields a subclass does not declare itself (it may override any)."""
    for name, value in declared.items():
        if name not in cls.__dict__:
            setattr(cls, name, value)


def token_model_for(user_model: type[AbstractUser]) -> type[AbstractApiToken]:
    """The API token model for ``user_model``, declared on first call (table
    ``<user table>_api_token``); ``kettle.auth.ApiToken`` is the one of ``User``::

        MemberToken = token_model_for(Member)
    """
    existing: type[AbstractApiToken] | None = user_model.__dict__.get("_kettle_token_model")
    if existing is not None:
        return existing
    namespace = {
        "__module__": user_model.__module__,
        "__qualname__": f"{user_model.__name__}ApiToken",
        "user": fields.foreign_key(user_model, related_name="api_tokens"),
        "Meta": type("Meta", (), {"table_name": f"{user_model.__tablename__}_api_token"}),
    }
    model = type(f"{user_model.__name__}ApiToken", (AbstractApiToken,), namespace)
    user_model._kettle_token_model = model
    return model


__all__ = [
    "UNUSABLE_PREFIX",
    "AbstractApiToken",
    "AbstractUser",
    "AnonymousUser",
    "Group",
    "Permission",
    "token_model_for",
]
