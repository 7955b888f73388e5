"""``Auth``: the battery that puts ``request.user`` on every request and serves /auth.

::

    app = App()
    db = Database(app)
    auth = Auth(app)                  # kettle.auth.User; or Auth(app, user_model=Member)

    @app.get("/me")
    @login_required
    async def me(request: Request):
        return {"username": request.user.username}

The user comes from the session (``_auth_user_id``, set by ``login``) or from an
``Authorization: Bearer <token>`` header (an ``ApiToken``). A session also keeps a hash
derived from the user's password hash: changing the password ends every other session.
Sessions live in the database (``kettle.auth.sessions``) unless the app chose otherwise,
so a logout or ``logout_everywhere`` ends them on the server; pages for signed-in users
are sent ``Cache-Control: private, no-store`` (``kettle.auth.caching``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from kettle import csrf
from kettle.auth import factors
from kettle.auth.account import AccountLink, default_links
from kettle.auth.caching import is_personal, never_store
from kettle.auth.hashers import Argon2Hasher, PasswordHasher, dummy_verify
from kettle.auth.models import AbstractApiToken, AbstractUser, AnonymousUser, token_model_for
from kettle.auth.permissions import async_permissions
from kettle.auth.throttling import (
    LoginThrottle,
    MemoryThrottleStore,
    ResetThrottle,
    SignupThrottle,
    ThrottleStore,
)
from kettle.auth.tokens import DEFAULT_TOKEN_LIFETIME, ResetTokens, hash_api_token
from kettle.auth.validators import PasswordValidator, default_validators, validate_password
from kettle.db import Database, fields
from kettle.exceptions import ConfigurationError, HTTPException
from kettle.i18n._gettext import gettext as _
from kettle.mail import MailBackend, mail_backend_from_settings
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.sessions import UserSessionStore

if TYPE_CHECKING:
    from kettle.app import App

#: The session key that holds the signed-in user's id (``request.session[SESSION_USER]``).
SESSION_USER = "_auth_user_id"
#: The session key that holds ``Auth.session_hash`` of the user, an HMAC of their password
#: hash: when the password changes it no longer matches, and the session is signed out.
SESSION_HASH = "_auth_user_hash"
#: The session key holding when the user signed in or last typed their password (Unix
#: seconds; see ``kettle.auth.reauth``).
SESSION_AUTH_AT = "_auth_at"
ObjectHook = Callable[[Any, str, Any], Any]
H = TypeVar("H", bound=ObjectHook)
SignupHook = Callable[[Request, Any], Awaitable[None]]
S = TypeVar("S", bound=SignupHook)
ResetSender = Callable[[Request, str], Awaitable[None]]
RS = TypeVar("RS", bound=ResetSender)
SecondFactorPolicy = Callable[[AbstractUser], Awaitable[bool]]
P = TypeVar("P", bound=SecondFactorPolicy)
WaysIn = Callable[[AbstractUser], Awaitable[list[str]]]
W = TypeVar("W", bound=WaysIn)
User = AbstractUser | AnonymousUser
#: The one ``AnonymousUser``: ``request.user`` when nobody is signed in
#: (``request.user is ANONYMOUS``).
ANONYMOUS = AnonymousUser()


@dataclass(frozen=True, kw_only=True)
class AuthOptions:
    """What ``Auth`` can be tuned with, beyond its arguments::

    Auth(app, options=AuthOptions(signup=False, max_failures_per_account=3))
    """

    hasher: PasswordHasher = field(default_factory=Argon2Hasher)
    password_validators: Sequence[PasswordValidator] = field(default_factory=default_validators)
    #: Failed logins per username, and per client address, within ``throttle_window``.
    max_failures_per_account: int = 5
    #: Failed logins per client address within ``throttle_window``.
    max_failures_per_address: int = 20
    #: The window of the login limits, in seconds (15 minutes).
    throttle_window: int = 15 * 60
    #: Requests for a password-reset link per e-mail address, and per client address,
    #: within ``reset_throttle_window`` (addresses with no account count too).
    max_resets_per_email: int = 3
    #: Requests for a reset link per client address within ``reset_throttle_window``.
    max_resets_per_address: int = 10
    #: The window of the reset-link limits, in seconds (an hour).
    reset_throttle_window: int = 60 * 60
    #: Accounts the sign-up page creates per client address within ``signup_throttle_window``
    #: (forms sent back with errors do not count).
    max_signups_per_address: int = 5
    #: The window of ``max_signups_per_address``, in seconds (an hour).
    signup_throttle_window: int = 60 * 60
    #: How long a password-reset link works, in seconds.
    reset_max_age: int = 60 * 60
    #: Where the views are served, and whether people may create accounts there.
    prefix: str = "/auth"
    #: Whether the sign-up page is open; False leaves account creation to staff.
    signup: bool = True
    #: Where to go after login, sign-up and logout when no safe ``?next=`` is given.
    redirect_url: str = "/"
    #: Where sessions live when the app has no ``session_backend`` of its own:
    #: ``"database"`` (the ``auth_session`` table: logout and "sign out everywhere" end
    #: them on the server), ``"redis"`` (``kettle.auth.redis_sessions``, at
    #: ``session_redis_url``) or ``"cookie"`` (signed cookies, nothing stored). None: the
    #: ``session_store`` setting (``KETTLE_SESSION_STORE``), ``"database"`` unless set.
    session_store: Literal["database", "redis", "cookie"] | None = None
    #: Server-side sessions (database, Redis) end after this many seconds without a
    #: request (sliding); None: only ``Settings.session_max_age`` after they began.
    session_idle_seconds: int | None = None
    #: The Redis of ``session_store="redis"``; None: ``KETTLE_SESSION_REDIS_URL``, else
    #: ``redis://127.0.0.1:6379/0``.
    session_redis_url: str | None = None
    #: Create missing permission rows at start-up (``sync_permissions``).
    sync_permissions: bool = True
    #: Seconds between updates of an API token's ``last_used``.
    token_touch_interval: int = 60
    #: How long a new API token works when ``issue`` is given no ``expires_in``; None
    #: makes such tokens never expire (ask for it only if something else ends them).
    token_lifetime: dt.timedelta | None = DEFAULT_TOKEN_LIFETIME
    #: The longest lifetime a user may choose for a token (account page, APIs).
    token_max_lifetime: dt.timedelta = dt.timedelta(days=365)
    #: Revoke every API token of a user whose password is changed or reset.
    revoke_tokens_on_password_change: bool = True
    #: E-mail verification (``kettle.auth.verification``): ``"optional"`` mails a link at
    #: sign-up and signs in at once; ``"mandatory"`` needs the address and refuses login
    #: until the link is followed; ``"none"`` sends nothing.
    email_verification: Literal["none", "optional", "mandatory"] = "optional"
    #: How long a verification link works, in seconds (three days).
    email_verification_max_age: int = 3 * 24 * 60 * 60


class Auth:
    """The auth battery for ``app`` (see the module docstring); ``app.state.auth``.

    Create it after ``Database(app)`` and before other request hooks that read
    ``request.user``::

        auth = Auth(app, mail=MemoryBackend(), throttle_store=RedisThrottleStore())
    """

    def __init__(
        self,
        app: App,
        *,
        user_model: type[AbstractUser] | None = None,
        login_url: str = "/auth/login",
        throttle_store: ThrottleStore | None = None,
        mail: MailBackend | None = None,
        options: AuthOptions | None = None,
    ) -> None:
        db = getattr(app.state, "db", None)
        if not isinstance(db, Database):
            raise ConfigurationError(
                "kettle.auth stores users with kettle.db: create `db = Database(app)` "
                "before `Auth(app)`."
            )
        if user_model is None:
            from kettle.auth.user import User

            user_model = User
        self.app = app
        self.db = db
        self.user_model = user_model
        self.token_model: type[AbstractApiToken] = token_model_for(user_model)
        self.options = options or AuthOptions()
        if login_url == "/auth/login" and self.options.prefix != "/auth":
            login_url = self.options.prefix + "/login"  # the default follows the prefix
        self.login_url = login_url
        self.hasher = self.options.hasher
        store = throttle_store if throttle_store is not None else MemoryThrottleStore()
        self.throttle = LoginThrottle(
            store,
            max_per_account=self.options.max_failures_per_account,
            max_per_address=self.options.max_failures_per_address,
            window=self.options.throttle_window,
        )
        self.reset_throttle = ResetThrottle(
            store,
            max_per_email=self.options.max_resets_per_email,
            max_per_address=self.options.max_resets_per_address,
            window=self.options.reset_throttle_window,
        )
        self.signup_throttle = SignupThrottle(
            store,
            max_per_address=self.options.max_signups_per_address,
            window=self.options.signup_throttle_window,
        )
        self.mail = mail if mail is not None else mail_backend_from_settings(app.settings)
        #: ``fn(user, perm, obj) -> bool | None`` hooks, asked in order (``object_permission``).
        self.object_hooks: list[ObjectHook] = []
        #: ``async fn(request, user)`` hooks run after sign-up (``on_signup``).
        self.signup_hooks: list[SignupHook] = []
        #: ``async fn(request, email)`` that delivers password-reset mail in place of
        #: sending it in the request (``on_password_reset``).
        self.reset_sender: ResetSender | None = None
        #: The second factors batteries registered (``add_second_factor``; kettle.auth.factors).
        self.second_factors: list[factors.SecondFactor] = []
        #: ``async fn(user) -> bool`` hooks: True makes a second factor required for the user
        #: (``require_second_factor``).
        self.second_factor_policies: list[SecondFactorPolicy] = []
        #: Where a user who must have a second factor and has none enrols (set by the
        #: battery that offers enrolment, e.g. kettle.auth.twofactor).
        self.second_factor_enrolment: str | None = None
        #: ``async fn(user) -> list[str]`` hooks naming the user's ways in besides the
        #: password, one name each ("identity:4", "passkey:7"): see ``aways_in``.
        self.ways_in_sources: list[WaysIn] = []
        #: The entries of the account page (``{prefix}/account``), in order; each battery
        #: adds its own (``add_account_link``; kettle.auth.account).
        self.account_links: list[AccountLink] = default_links()
        user_model._kettle_auth = self
        self._install_session_store(app)
        app.before_request(self.authenticate_request)
        app.on_response(self.mark_private)
        from kettle.auth.views import make_group

        self.group = make_group(self)
        app.include(self.group)
        app.on_startup(self._startup)
        app.on_shutdown(self._shutdown)
        app.state.auth = self

    def _install_session_store(self, app: App) -> None:
        store = self.options.session_store or app.settings.session_store
        if store not in ("database", "redis", "cookie"):
            raise ConfigurationError(
                f"AuthOptions(session_store={store!r}) is not a session store: choose "
                "'database', 'redis' or 'cookie', or set app.session_backend to a backend "
                "of your own."
            )
        idle = self.options.session_idle_seconds
        chosen = app.session_backend
        if app.session_backend is None and store == "database":
            from kettle.auth.sessions import DatabaseSessionBackend

            app.session_backend = DatabaseSessionBackend(
                self.db, idle_seconds=idle, max_age=app.settings.session_max_age
            )
        elif app.session_backend is None and store == "redis":
            from kettle.auth.redis_sessions import RedisSessionBackend, redis_url

            url = redis_url(self.options.session_redis_url)
            backend = RedisSessionBackend(url, prefix=f"{app.name}:session", idle_seconds=idle)
            app.session_backend = backend
            app.on_shutdown(backend.aclose)
        installed = app.session_backend
        if installed is not chosen and isinstance(installed, UserSessionStore):
            # Nobody signed in: the session stays in a signed cookie, so an anonymous
            # page view writes nothing on the server (kettle.auth._anonymous_sessions).
            from kettle.auth._anonymous_sessions import AnonymousInCookie

            app.session_backend = AnonymousInCookie(installed, app.settings)

    # --- extension points -----------------------------------------------------------------
    def object_permission(self, fn: H) -> H:
        """Register ``fn(user, perm, obj) -> bool | None`` for ``has_perm(perm, obj)``;
        None lets the next hook (and then the model-level permissions) decide::

            @auth.object_permission
            def authors_edit_their_own(user, perm, obj):
                if perm == "article.change" and isinstance(obj, Article):
                    return obj.author_id == user.id or None
                return None
        """
        self.object_hooks.append(fn)
        return fn

    def on_signup(self, fn: S) -> S:
        """Register ``async fn(request, user)``, run when the sign-up page creates a user.

        It runs after the user is saved and before they are signed in, in the request's
        unit of work (so use the async query methods): if it raises, the account is not
        created. Give new accounts a role, say::

            @auth.on_signup
            async def make_reader(request, user):
                reader = await Group.objects.aget(name="reader")
                user = await User.objects.prefetch_related("groups").aget(id=user.id)
                user.groups.append(reader)
                await user.asave()
        """
        is_async = inspect.iscoroutinefunction(fn)  # a variable: no narrowing of fn's type
        if not is_async:
            raise TypeError(
                f"on_signup hooks run in the async sign-up view: make {fn.__qualname__} an "
                "`async def` taking (request, user), and use the async query methods in it."
            )
        self.signup_hooks.append(fn)
        return fn

    def on_password_reset(self, fn: RS) -> RS:
        """Deliver password-reset mail with ``async fn(request, email)`` instead of sending
        it during the request. ``fn`` is called for every address asked for, known or not,
        before any query: queue a task, and the page does the same work whoever asks, so
        its timing tells nobody who has an account. The task finds the accounts and builds
        their mail with ``kettle.auth.reset.reset_messages`` (none for an unknown address)::

            @auth.on_password_reset
            async def queue_reset_mail(request, email):
                await send_reset_mail.aenqueue(email, site_url(request))
        """
        is_async = inspect.iscoroutinefunction(fn)
        if not is_async:
            raise TypeError(
                f"on_password_reset runs in the async reset view: make {fn.__qualname__} an "
                "`async def` taking (request, email)."
            )
        self.reset_sender = fn
        return fn

    def add_second_factor(self, factor: factors.SecondFactor) -> None:
        """Offer ``factor`` after the first one (see ``kettle.auth.factors``); names are
        unique (``ConfigurationError``)::

            auth.add_second_factor(TotpFactor(auth))
        """
        factors.check_name(self.second_factors, factor)
        self.second_factors.append(factor)

    def require_second_factor(self, fn: P) -> P:
        """Register ``async fn(user) -> bool``: True sends the user to enrolment after
        their first factor when they have no second one, and nowhere else until then::

            @auth.require_second_factor
            async def staff_need_two(user):
                return user.is_staff
        """
        self.second_factor_policies.append(fn)
        return fn

    def ways_in(self, fn: W) -> W:
        """Register ``async fn(user) -> list[str]``: the ways ``user`` can sign in that a
        battery provides, one unique name each. ``aways_in`` adds them up, so no battery
        lets a user remove their last way in, whatever the others offer::

            @auth.ways_in
            async def passkeys(user):
                ids = await Passkey.objects.filter(user_id=user.id).values_list("id")
                return [f"passkey:{id}" for id in ids]
        """
        self.ways_in_sources.append(fn)
        return fn

    async def aways_in(self, user: AbstractUser) -> list[str]:
        """Every way ``user`` can sign in: ``"password"`` when theirs is usable, then each
        battery's (``ways_in``): linked providers, passkeys::

            await auth.aways_in(ann)    # ["password", "identity:4", "passkey:7"]
        """
        ways = ["password"] if user.has_usable_password() else []
        for source in self.ways_in_sources:
            ways.extend(await source(user))
        return ways

    async def ais_last_way_in(self, user: AbstractUser, way: str) -> bool:
        """Whether removing ``way`` (a name ``aways_in`` gives) would lock ``user`` out::

        if await auth.ais_last_way_in(user, f"passkey:{passkey.id}"):
            ...   # refuse, and say what to add first
        """
        return not [other for other in await self.aways_in(user) if other != way]

    def add_account_link(self, link: AccountLink) -> None:
        """Add an entry to the account page (``{prefix}/account``), after the others::

        auth.add_account_link(AccountLink("Passkeys", "auth.passkeys",
                                          "Sign in with your fingerprint or face."))
        """
        self.account_links.append(link)

    def validate_password(self, password: str, user: Any | None = None) -> None:
        """Run the configured validators; raises ``PasswordValidationError``::

        auth.validate_password("tea-at-altitude-1865", user=ann)
        """
        validate_password(password, user, self.options.password_validators)

    @functools.cached_property
    def reset_tokens(self) -> ResetTokens:
        """Password-reset tokens signed with the app's secret key (known after start-up)."""
        self.app.build()
        settings = self.app.settings
        return ResetTokens(
            settings.secret_key, settings.secret_key_fallbacks, self.options.reset_max_age
        )

    # --- credentials ------------------------------------------------------------------------
    def _check(self, user: AbstractUser | None, password: str) -> bool:
        """One hash verification whatever the account: no timing tells who exists."""
        if user is None or not user.is_active or not user.has_usable_password():
            dummy_verify(self.hasher, password)
            return False
        return self.hasher.verify(user.password, password)

    def authenticate(self, username: str, password: str) -> AbstractUser | None:
        """The active user with these credentials, or None; upgrades an old hash.

        For ``def`` code (inside a request or ``db.session()``)::

            user = auth.authenticate("ann", "tea-at-altitude-1865")
        """
        user: AbstractUser | None = self.user_model.objects.filter(username=username).first()
        if not self._check(user, password):
            return None
        assert user is not None
        if self.hasher.needs_rehash(user.password):
            user.password = self.hasher.hash(password)
            user.save()
        return user

    async def aauthenticate(self, username: str, password: str) -> AbstractUser | None:
        """``authenticate()`` for async code; the hashing runs in the thread pool."""
        query = self.user_model.objects.filter(username=username)
        user: AbstractUser | None = await query.afirst()
        if not await self.app.run_sync(self._check, user, password):
            return None
        assert user is not None
        if self.hasher.needs_rehash(user.password):
            user.password = await self.app.run_sync(self.hasher.hash, password)
            await user.asave()
        return user

    # --- sessions -----------------------------------------------------------------------------
    def session_hash(self, user: AbstractUser, key: str | None = None) -> str:
        """The value kept in the session: an HMAC of the user's password hash."""
        secret = (key or self.app.settings.secret_key).encode()
        message = b"kettle.auth.session\0" + user.password.encode()
        return hmac.new(secret, message, hashlib.sha256).hexdigest()

    def _start_session(self, request: Request, user: AbstractUser) -> None:
        session = request.session
        if session.get(SESSION_USER) not in (None, user.id):
            session.clear()  # another user was signed in here: keep nothing of theirs
        session.cycle()  # a new session id: no session fixation
        csrf.rotate_token(request)
        session[SESSION_USER] = user.id
        session[SESSION_HASH] = self.session_hash(user)
        session[SESSION_AUTH_AT] = int(time.time())  # kettle.auth.reauth: a recent sign-in
        set_user(request, user)

    def login(self, request: Request, user: AbstractUser) -> None:
        """Sign ``user`` in on this session and record ``last_login`` (``def`` code)::

        user = auth.authenticate(username, password)
        if user is not None:
            auth.login(request, user)
        """
        self._start_session(request, user)
        user.last_login = fields.now()
        user.save()

    async def alogin(self, request: Request, user: AbstractUser) -> None:
        """``login()`` for async code."""
        self._start_session(request, user)
        user.last_login = fields.now()
        await user.asave()

    # --- the second factor (kettle.auth.factors) -------------------------------------------
    async def complete_sign_in(
        self, request: Request, user: AbstractUser, *, method: str, next_url: str
    ) -> Response:
        """The one call every sign-in path makes once the first factor is proven
        (``method``: "password", "oidc:<provider>", "passkey", "signup", "reset").

        Signs in and answers 303 to ``next_url``, unless the user has a second factor (or
        must have one): then the sign-in waits on it (see ``kettle.auth.factors``). With
        ``AuthOptions(email_verification="mandatory")``, an account whose address is not
        verified is not signed in by any path: the answer is the 403 page that offers a
        new link (``kettle.auth.verification``)::

            return await auth.complete_sign_in(request, user, method="password", next_url="/")
        """
        from kettle.auth import verification  # NOTE: verification imports this module

        if verification.blocks_login(self, user):
            return verification.login_refused(request, user)
        enrolled, required = (False, False)
        if method not in factors.TWO_FACTOR_METHODS:
            enrolled, required = await factors.needs(self, user)
        if not required:
            await self.alogin(request, user)
            return RedirectResponse(next_url, 303)
        factors.begin(self, request, user, method, next_url)
        target = self.options.prefix + "/2fa"
        if not enrolled and self.second_factor_enrolment is not None:
            target = self.second_factor_enrolment
        return RedirectResponse(target, 303)

    def pending_user(self, request: Request) -> AbstractUser | None:
        """The user whose sign-in waits on a second factor (``def`` code); None when there
        is none, it expired (``factors.PENDING_SECONDS``) or a new password voided it::

            user = auth.pending_user(request)
        """
        state = factors.pending_state(request)
        if state is None:
            return None
        user: AbstractUser | None = self.user_model.objects.filter(id=state["user"]).first()
        return user if factors.still_valid(self, state, user) else None

    async def apending_user(self, request: Request) -> AbstractUser | None:
        """``pending_user()`` for async code (the factors' verify views)."""
        state = factors.pending_state(request)
        if state is None:
            return None
        query = self.user_model.objects.filter(id=state["user"])
        user: AbstractUser | None = await query.afirst()
        return user if factors.still_valid(self, state, user) else None

    async def finish_second_factor(self, request: Request, factor_name: str) -> Response:
        """Sign the pending user in once ``factor_name`` checked out: a new session id, the
        CSRF token rotated, and a 303 to where the sign-in was going (back to the login
        page when the pending sign-in expired)::

            return await auth.finish_second_factor(request, "totp")
        """
        return await factors.finish(self, request, factor_name)

    def logout(self, request: Request) -> None:
        """End the session: every key goes and the session id changes::

        auth.logout(request)
        """
        request.session.invalidate()
        set_user(request, ANONYMOUS)

    def update_session(self, request: Request, user: AbstractUser) -> None:
        """Keep this session signed in after ``user``'s password changed (the others end)::

        user.set_password(new); await user.asave(); auth.update_session(request, user)
        """
        if request.session.get(SESSION_USER) == user.id:
            request.session.cycle()
            request.session[SESSION_HASH] = self.session_hash(user)

    # --- ending sessions on the server -----------------------------------------------------------
    @property
    def session_store(self) -> UserSessionStore | None:
        """The app's session backend when it can end a user's sessions (the database
        store Auth installs), else None (signed cookies keep nothing to delete)."""
        backend = self.app.session_backend
        return backend if isinstance(backend, UserSessionStore) else None

    def _store_or_refuse(self) -> UserSessionStore:
        store = self.session_store
        if store is None:
            backend = self.app.session_backend
            kind = "signed cookies" if backend is None else type(backend).__name__
            raise ConfigurationError(
                f"Ending a user's sessions needs a server-side session store, and this app "
                f"keeps them with {kind}. Drop AuthOptions(session_store='cookie') (or the "
                "app's own session_backend) to use the database store; with signed cookies, "
                "changing the user's password is what ends their sessions."
            )
        return store

    def end_sessions(self, user: AbstractUser, *, keep: Request | None = None) -> int:
        """End every session of ``user`` but ``keep``'s (the request's own) on the server;
        returns how many ended. ``def`` code, in a unit of work::

            with db.session():
                auth.end_sessions(ann)    # a stolen laptop: ann must sign in again
        """
        token = keep.session_data.token if keep is not None and keep.session_data else None
        return self._store_or_refuse().end_user_sessions(user.id, keep=token)

    async def aend_sessions(self, user: AbstractUser, *, keep: Request | None = None) -> int:
        """``end_sessions()`` for async code."""
        token = keep.session_data.token if keep is not None and keep.session_data else None
        return await self._store_or_refuse().aend_user_sessions(user.id, keep=token)

    def logout_everywhere(self, request: Request) -> int:
        """Sign the request's user out on every other device; this session stays signed
        in under a new id. Returns how many sessions ended (``def`` code)::

            ended = auth.logout_everywhere(request)
        """
        user = self._signed_in(request)
        ended = self.end_sessions(user, keep=request)
        self._start_session(request, user)
        return ended

    async def alogout_everywhere(self, request: Request) -> int:
        """``logout_everywhere()`` for async code (the button on the password page)."""
        user = self._signed_in(request)
        ended = await self.aend_sessions(user, keep=request)
        self._start_session(request, user)
        return ended

    @staticmethod
    def _signed_in(request: Request) -> AbstractUser:
        user = get_user(request)
        if not isinstance(user, AbstractUser):
            raise HTTPException(401, _("Sign in first: only a signed-in user can sign out."))
        return user

    # --- after a password change ---------------------------------------------------------------
    def password_changed(self, user: AbstractUser, *, keep: Request | None = None) -> None:
        """What follows a new password, once it is saved (``def`` code, in a unit of work).

        Every API token of ``user`` is revoked (unless ``AuthOptions(revoke_tokens_on_
        password_change=False)``), and every session but ``keep``'s ends (the password
        page keeps its own). The place to hook what else a new password should end::

            user.set_password(new)
            user.save()
            auth.password_changed(user)
        """
        if self.options.revoke_tokens_on_password_change:
            self.token_model.revoke_all(user)
        if self.session_store is not None:
            self.end_sessions(user, keep=keep)
        if keep is not None:
            self.update_session(keep, user)

    async def apassword_changed(self, user: AbstractUser, *, keep: Request | None = None) -> None:
        """``password_changed()`` for async code (the pages that set passwords call it)::

        await auth.apassword_changed(user, keep=request)
        """
        if self.options.revoke_tokens_on_password_change:
            await self.token_model.arevoke_all(user)
        if self.session_store is not None:
            await self.aend_sessions(user, keep=keep)
        if keep is not None:
            self.update_session(keep, user)

    # --- every request ------------------------------------------------------------------------
    def mark_private(self, request: Request, response: Response) -> None:
        """Send ``Cache-Control: private, no-store`` with every response for a signed-in
        user or an API client, error pages included (the ``on_response`` hook ``Auth``
        installs; see ``kettle.auth.caching``)."""
        if is_personal(request, SESSION_USER):
            never_store(response)

    async def authenticate_request(self, request: Request) -> None:
        """Set ``request.user`` (the before-request hook ``Auth`` installs)."""
        authorization = request.headers.get("authorization")
        if authorization is not None and authorization[:7].lower() == "bearer ":
            set_user(request, await self._user_from_token(request, authorization[7:].strip()))
            return
        session = request.session_data
        # PERF: no session or no user in it: anonymous without touching the database.
        if session is None or SESSION_USER not in session:
            set_user(request, ANONYMOUS)
            return
        set_user(request, await self._user_from_session(request))

    async def _user_from_session(self, request: Request) -> User:
        session = request.session  # marks the response Vary: Cookie
        user_id = session.get(SESSION_USER)
        user = None
        if isinstance(user_id, int):
            # NOTE: a unit of work of its own, so the user comes back detached: it may be
            # saved from def and async def code alike (each has its own session). Read on
            # the primary: a replica behind it may not have a new account yet, or may still
            # show a disabled one as active.
            with self.db.primary():
                async with self.db.async_session() as unit:
                    user = await unit.get(self.user_model, user_id)
        if user is None or not user.is_active or not self._hash_matches(request, user):
            session.invalidate()
            return ANONYMOUS
        return user

    def _hash_matches(self, request: Request, user: AbstractUser) -> bool:
        stored = request.session.get(SESSION_HASH)
        if not isinstance(stored, str):
            return False
        if hmac.compare_digest(stored, self.session_hash(user)):
            return True
        for old in self.app.settings.secret_key_fallbacks:
            if hmac.compare_digest(stored, self.session_hash(user, old)):
                request.session[SESSION_HASH] = self.session_hash(user)  # re-signed
                return True
        return False

    async def _user_from_token(self, request: Request, raw: str) -> AbstractUser:
        """The token's user; a 401 that says why when the token is refused."""
        token: AbstractApiToken | None = None
        if raw:
            async with self.db.async_session():
                # PERF: one query for the token and its user; a write at most once per
                # token and ``token_touch_interval``, not one per request.
                # On the primary: a revoked token is refused at once, not after the lag.
                query = self.token_model.objects.using("primary").select_related("user")
                token = await query.filter(key_hash=hash_api_token(raw)).afirst()
                if token is not None and token.is_valid and token.user.is_active:
                    now, last = fields.now(), token.last_used
                    interval = self.options.token_touch_interval
                    if last is None or (now - last).total_seconds() >= interval:
                        token.last_used = now
        if token is None or not token.user.is_active:
            problem = _("it is unknown, or its account is disabled")
        elif token.revoked is not None:
            problem = _("it was revoked on %(when)s") % {"when": _when(token.revoked)}
        elif not token.is_valid:
            problem = _("it expired on %(when)s") % {"when": _when(token.expires)}
        else:
            request.state.api_token = token
            return token.user
        raise HTTPException(
            401,
            _(
                "The API token is not valid: %(problem)s. Issue a new one, and send it as "
                "`Authorization: Bearer <token>`."
            )
            % {"problem": problem},
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    # --- lifespan -----------------------------------------------------------------------------
    async def _startup(self) -> None:
        if self.options.sync_permissions:
            await async_permissions(self.db)

    async def _shutdown(self) -> None:
        close = getattr(self.throttle.store, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()


# --- request.user -------------------------------------------------------------------------------
def get_user(request: Request) -> AbstractUser | AnonymousUser:
    """``request.user``, typed: the signed-in user or ``AnonymousUser``::

    user = get_user(request)
    if user.is_authenticated: ...
    """
    try:
        user: AbstractUser | AnonymousUser = request.state.user
    except AttributeError:
        raise AttributeError(
            "request.user is not set: it needs `Auth(app)` (kettle.auth), and hooks that "
            "read it must be registered after Auth."
        ) from None
    return user


def get_api_token(request: Request) -> AbstractApiToken | None:
    """The API token the request was signed in with (None for a session or nobody)::

    token = get_api_token(request)
    if token is not None:
        await token.arevoke()   # "sign this token out"
    """
    token: AbstractApiToken | None = getattr(request.state, "api_token", None)
    return token


def _when(moment: dt.datetime | None) -> str:
    """A stored time in words: ``2026-01-31 14:05 UTC``."""
    if moment is None:
        return _("an unknown date")
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def set_user(request: Request, user: AbstractUser | AnonymousUser) -> None:
    """Make ``user`` the request's user (``login`` and the request hook do this)."""
    request.state.user = user


@functools.cache
def _default_hasher() -> PasswordHasher:
    return Argon2Hasher()


def hasher_for(model: type[AbstractUser]) -> PasswordHasher:
    """The hasher of the ``Auth`` serving ``model``, else Argon2id with OWASP's settings."""
    auth = model._kettle_auth
    return auth.hasher if auth is not None else _default_hasher()


__all__ = [
    "ANONYMOUS",
    "SESSION_AUTH_AT",
    "SESSION_HASH",
    "SESSION_USER",
    "Auth",
    "AuthOptions",
    "get_api_token",
    "get_user",
    "hasher_for",
    "set_user",
]
