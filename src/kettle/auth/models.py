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
import enum
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import orm

from kettle.auth import usernames
from kettle.db import Model, fields

if TYPE_CHECKING:
    from kettle.auth.core import Auth

#: Stored hashes that start with this never match a password (``set_unusable_password``).
UNUSABLE_PREFIX = "!"


class Permission(Model):
    """One permission, ``"<table>.<action>"`` (``"article.change"``); see ``perm_for``::

    Permission.objects.get(codename="article.change").name   # "Can change article"
    """

    #: What ``has_perm`` and ``permission_required`` check: ``"<table>.<action>"``,
    #: such as ``"article.change"`` (see ``perm_for``).
    codename: str = fields.string(max_length=150, unique=True)
    #: A description for people, shown in the admin: ``"Can change article"``.
    name: str = fields.string(max_length=255)

    class Meta:
        table_name = "auth_permission"
        #: Fixtures name a permission by its codename (kettle.db.fixtures).
        natural_key = ("codename",)
        ordering = ["codename"]

    def __str__(self) -> str:
        return self.codename


class Group(Model):
    """A named set of permissions; its name is the role ``role_required`` checks::

    editors = Group.objects.create(name="editor", permissions=[change_article])
    """

    #: The group's name, unique, which is also the role ``role_required`` checks:
    #: ``"editor"``.
    name: str = fields.string(max_length=150, unique=True)
    #: The permissions every member of the group has.
    permissions: list[Permission] = fields.many_to_many(Permission)

    class Meta:
        table_name = "auth_group"
        #: Fixtures name a group by its name (kettle.db.fixtures).
        natural_key = ("name",)
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
        username_key: str
        email: str
        password: str
        is_active: bool
        is_staff: bool
        is_superuser: bool
        date_joined: dt.datetime
        last_login: dt.datetime | None
        email_verified: bool
        time_zone: str
        language: str
        groups: list[Group]
        permissions: list[Permission]

    #: Set by ``Auth`` for the model it serves: its hasher and object-permission hooks.
    _kettle_auth: ClassVar[Auth | None] = None
    #: The ``ApiToken`` model linked to this user model (see ``token_model_for``).
    _kettle_api_token_model: ClassVar[type[AbstractApiToken] | None] = None

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

    # --- username (rules in kettle.auth.usernames) -------------------------------------------
    @orm.validates("username")
    def _set_username(self, _key: str, value: str | None) -> str | None:
        """Store the NFKC form of the name and, with it, its look-alike key."""
        if value is None:
            return value  # the field's own validation says what is wrong
        name = usernames.normalize_username(value)
        self.username_key = usernames.username_key(name)
        return name

    def validation_errors(self, names: Iterable[str] | None = None) -> dict[str, list[str]]:
        """The fields' checks, and a new or changed username's: one script, allowed
        characters (``kettle.auth.usernames.check_username``)::

            User(username="p\\u0430\\u043elo").validation_errors()["username"]   # "one script only"
        """
        errors = super().validation_errors(names)
        wanted = names is None or "username" in names
        state = sa.inspect(self)
        changed = state.key is None or state.attrs.username.history.has_changes()
        if wanted and changed and "username" not in errors and isinstance(self.username, str):
            problems = usernames.check_username(self.username)
            if problems:
                errors["username"] = problems
        return errors

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

    #: No row, so no primary key: ``request.user.id is None`` when nobody is signed in.
    id = None
    #: As ``id``.
    pk = None
    #: Empty, so templates can show ``{{ request.user.username }}`` either way.
    username = ""
    #: Empty: there is no address to write to.
    email = ""
    #: False: an anonymous visitor is no active account.
    is_active = False
    #: False: never staff, so never in the admin.
    is_staff = False
    #: False: never a superuser.
    is_superuser = False
    #: False; ``if request.user.is_authenticated:`` tells a signed-in user.
    is_authenticated = False
    #: True; the opposite of ``is_authenticated``.
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
        """No permissions: ``set()``, as ``AbstractUser.get_all_permissions`` of a user
        who has none."""
        return set()

    async def aget_all_permissions(self) -> set[str]:
        """``get_all_permissions`` for ``async def`` code: ``set()``."""
        return set()

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """False, whatever the permission: ``request.user.has_perm("article.change")``
        works before sign-in too."""
        return False

    async def ahas_perm(self, perm: str, obj: Any = None) -> bool:
        """``has_perm`` for ``async def`` code: False."""
        return False

    def has_perms(self, perms: list[str] | tuple[str, ...], obj: Any = None) -> bool:
        """False: an anonymous visitor has none of ``perms`` (even when it is empty, so a
        guard never lets one through by accident)."""
        return False

    async def ahas_perms(self, perms: list[str] | tuple[str, ...], obj: Any = None) -> bool:
        """``has_perms`` for ``async def`` code: False."""
        return False

    def get_roles(self) -> set[str]:
        """No roles (groups): ``set()``."""
        return set()

    async def aget_roles(self) -> set[str]:
        """``get_roles`` for ``async def`` code: ``set()``."""
        return set()

    def has_role(self, role: str) -> bool:
        """False, whatever the role: ``request.user.has_role("editor")``."""
        return False

    async def ahas_role(self, role: str) -> bool:
        """``has_role`` for ``async def`` code: False."""
        return False


class _Lifetime(enum.Enum):
    """``issue(expires_in=...)`` left out: the lifetime comes from ``AuthOptions``."""

    DEFAULT = "default"


class AbstractApiToken(Model):
    """A named API token of a user; only a SHA-256 hash of the token is stored.

    The concrete model of a user model comes from ``token_model_for`` (``ApiToken`` for
    ``User``); create tokens with ``issue`` and show the raw token once. A token expires
    after ``AuthOptions.token_lifetime`` (90 days) unless given a lifetime of its own::

        token, raw = ApiToken.issue(user, "deploy script")
        print(raw)          # kt_...; send as "Authorization: Bearer kt_..."
        token, raw = ApiToken.issue(user, "ci", expires_in=dt.timedelta(days=7))
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

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...)"

    @property
    def is_valid(self) -> bool:
        """Not revoked and not expired."""
        return self.state == "active"

    @property
    def state(self) -> str:
        """``"active"``, ``"expired"`` or ``"revoked"`` (revoked wins)::

        token.state   # "active"
        """
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= fields.now():
            return "expired"
        return "active"

    @classmethod
    def _new(
        cls, user: AbstractUser, name: str, expires_in: dt.timedelta | _Lifetime | None
    ) -> tuple[dict[str, Any], str]:
        """The column values of a new token of ``user`` and its raw form."""
        from kettle.auth.tokens import DEFAULT_TOKEN_LIFETIME, new_api_token

        if expires_in is _Lifetime.DEFAULT:
            auth = type(user)._kettle_auth
            expires_in = auth.options.token_lifetime if auth else DEFAULT_TOKEN_LIFETIME
        if expires_in is not None and expires_in <= dt.timedelta(0):
            raise ValueError(
                f"ApiToken.issue(expires_in={expires_in!r}): a lifetime must be positive; "
                "pass a timedelta such as timedelta(days=30), or None for no expiry."
            )
        raw, digest = new_api_token()
        expires = fields.now() + expires_in if expires_in is not None else None
        values = {"user": user, "name": name, "key_hash": digest, "prefix": raw[:10]}
        return {**values, "expires": expires}, raw

    @classmethod
    def issue(
        cls,
        user: AbstractUser,
        name: str,
        *,
        expires_in: dt.timedelta | _Lifetime | None = _Lifetime.DEFAULT,
    ) -> tuple[Any, str]:
        """Create a token for ``user``; returns the row and the raw token (shown once).

        ``expires_in`` is its lifetime: left out, ``AuthOptions.token_lifetime``; None,
        no expiry at all::

            token, raw = ApiToken.issue(ann, "laptop")
            token, raw = ApiToken.issue(ann, "ci", expires_in=dt.timedelta(days=7))
        """
        values, raw = cls._new(user, name, expires_in)
        return cls.objects.create(**values), raw

    @classmethod
    async def aissue(
        cls,
        user: AbstractUser,
        name: str,
        *,
        expires_in: dt.timedelta | _Lifetime | None = _Lifetime.DEFAULT,
    ) -> tuple[Any, str]:
        """``issue()`` for async code."""
        values, raw = cls._new(user, name, expires_in)
        return await cls.objects.acreate(**values), raw

    def revoke(self) -> None:
        """Revoke the token now (a revoked one keeps its time); requests bearing it get
        401 from then on::

            token.revoke()
        """
        if self.revoked is None:
            self.revoked = fields.now()
            self.save()

    async def arevoke(self) -> None:
        """``revoke()`` for async code."""
        if self.revoked is None:
            self.revoked = fields.now()
            await self.asave()

    @classmethod
    def revoke_all(cls, user: AbstractUser) -> int:
        """Revoke every token of ``user`` in one UPDATE; returns how many were live::

        ApiToken.revoke_all(ann)   # after a password change, say
        """
        return cls.objects.filter(user_id=user.id, revoked=None).update(revoked=fields.now())

    @classmethod
    async def arevoke_all(cls, user: AbstractUser) -> int:
        """``revoke_all()`` for async code."""
        query = cls.objects.filter(user_id=user.id, revoked=None)
        return await query.aupdate(revoked=fields.now())


# NOTE: the abstract models declare these on each concrete subclass (``_declare``), which
# predates kettle.db copying an abstract model's fields to its subclasses; either way each
# user model gets columns of its own.
def _user_fields() -> dict[str, Any]:
    return {
        "username": fields.string(max_length=150, unique=True),
        # Set with the username (``AbstractUser._set_username``): unique, so no two names
        # look alike (kettle.auth.usernames).
        "username_key": fields.string(max_length=64, unique=True, editable=False),
        "email": fields.email(default="", blank=True, index=True),
        "password": fields.string(max_length=255, default="", blank=True, editable=False),
        "is_active": fields.boolean(default=True),
        "is_staff": fields.boolean(help_text="May use the admin."),
        "is_superuser": fields.boolean(help_text="Has every permission."),
        "date_joined": fields.datetime(auto_now_add=True),
        "last_login": fields.datetime(null=True, editable=False),
        # Set when the owner proved the address: a link mailed to it, or a sign-in provider
        # that asserts it. Changing ``email`` through the account pages clears it.
        "email_verified": fields.boolean(
            server_default=sa.false(), help_text="The owner proved they read this address."
        ),
        # An IANA zone name ("Europe/Paris"); empty: the browser's, else the site's.
        "time_zone": fields.string(
            max_length=64, default="", blank=True, server_default="", help_text="IANA zone."
        ),
        # A locale ("fr", "pt_BR"); empty: chosen per request (URL, cookie, browser).
        "language": fields.string(
            max_length=16, default="", blank=True, server_default="", help_text="Locale."
        ),
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


M = TypeVar("M", bound=Model)


def model_for(
    user_model: type[AbstractUser],
    base: type[M],
    suffix: str,
    user: Any,
    *,
    meta: dict[str, Any] | None = None,
    namespace: dict[str, Any] | None = None,
) -> type[M]:
    """The concrete model on the abstract ``base`` for ``user_model``, declared on the
    first call and the same class after (kept on the user model): class ``<User><Suffix>``,
    table ``<user table>_<suffix>``, its ``user`` field the link ``user`` to
    ``user_model``; ``meta`` adds to its ``Meta``, ``namespace`` to its attributes. The
    batteries' ``*_model_for`` functions are this::

        model_for(Member, AbstractPasskey, "passkey",
                  fields.foreign_key(Member, related_name="passkeys"))   # MemberPasskey
    """
    attribute = f"_kettle_{suffix}_model"
    existing: type[M] | None = user_model.__dict__.get(attribute)
    if existing is not None:
        return existing
    name = user_model.__name__ + "".join(part.title() for part in suffix.split("_"))
    options = {"table_name": f"{user_model.__tablename__}_{suffix}", **(meta or {})}
    attributes = {
        "__module__": user_model.__module__,
        "__qualname__": name,
        **(namespace or {}),
        "user": user,
        "Meta": type("Meta", (), options),
    }
    model = cast("type[M]", type(name, (base,), attributes))
    setattr(user_model, attribute, model)
    return model


def token_model_for(user_model: type[AbstractUser]) -> type[AbstractApiToken]:
    """The API token model for ``user_model``, declared on first call (table
    ``<user table>_api_token``); ``kettle.auth.ApiToken`` is the one of ``User``::

        MemberToken = token_model_for(Member)
    """
    link = fields.foreign_key(user_model, related_name="api_tokens")
    return model_for(user_model, AbstractApiToken, "api_token", link)


__all__ = [
    "UNUSABLE_PREFIX",
    "AbstractApiToken",
    "AbstractUser",
    "AnonymousUser",
    "Group",
    "Permission",
    "model_for",
    "token_model_for",
]
