"""Guards: who may call a handler, as decorators or as hooks on a whole route group.

``login_required``, ``permission_required(...)`` and ``role_required(...)`` decorate
``def`` and ``async def`` handlers alike (put them below the route decorator)::

    @app.get("/articles/<int:id>/edit")
    @permission_required("article.change")
    async def edit(id: int): ...

For every route of a group (or the app), ``guard`` installs them as before-request
hooks; they leave the auth pages (login, password reset) alone::

    guard(editorial, login_required, role_required("editor"))

Nobody signed in: a browser (``Accept: text/html``) is redirected to the login page with
``?next=`` back here, an API client gets 401 JSON. Signed in but not allowed: 403.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload
from urllib.parse import quote, urlencode

from kettle.auth.core import get_user
from kettle.exceptions import HTTPException
from kettle.handlers import is_sync
from kettle.i18n._gettext import gettext as _
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response

if TYPE_CHECKING:
    from kettle.auth.core import User
    from kettle.scaffold import Scaffold

F = TypeVar("F", bound=Callable[..., Any])
#: The keyword-only parameter a guarded handler gets, so the guard sees the request.
REQUEST_PARAMETER = "_kettle_guard_request"
#: The attribute a guarded handler carries: the descriptions of its guards, outermost
#: last (``("a signed-in user",)``). ``kettle.openapi`` reads it to mark the route as
#: needing a session or an API token; other code that guards handlers sets it too.
GUARDS_ATTRIBUTE = "__kettle_guards__"


class Guard:
    """A condition on ``request.user``; use it as a decorator or with ``guard``.

    ``check(user)`` runs in ``def`` handlers (and hooks written as such), ``acheck`` in
    async code; both see an authenticated user::

        staff_only = Guard("staff", lambda u: u.is_staff, acheck=None)
    """

    def __init__(
        self,
        description: str,
        check: Callable[[Any], bool],
        acheck: Callable[[Any], Awaitable[bool]] | None = None,
    ) -> None:
        self.description = description
        self.check = check
        self.acheck = acheck

    def __repr__(self) -> str:
        return f"<Guard {self.description}>"

    # --- as a hook ------------------------------------------------------------------------
    async def hook(self, request: Request) -> Response | None:
        """The before-request hook ``guard`` installs: None lets the request through.

        The auth pages (login, reset) stay open, so a site-wide guard lets people in.
        """
        if _is_auth_page(request):
            return None
        return await self.acheck_request(request)

    def sync_hook(self, request: Request) -> Response | None:
        """``hook`` for ``def`` code (``group.before_request(login_required)``)."""
        if _is_auth_page(request):
            return None
        return self.check_request(request)

    async def acheck_request(self, request: Request) -> Response | None:
        """A redirect to the login page, a 401 or 403 (raised), or None: allowed."""
        user = get_user(request)
        if not user.is_authenticated:
            return _unauthenticated(request)
        allowed = await self.acheck(user) if self.acheck else self.check(user)
        if not allowed:
            raise _forbidden(self.description)
        return None

    def check_request(self, request: Request) -> Response | None:
        """``acheck_request`` for ``def`` code (the permission queries block)."""
        user = get_user(request)
        if not user.is_authenticated:
            return _unauthenticated(request)
        if not self.check(user):
            raise _forbidden(self.description)
        return None

    # --- as a decorator -----------------------------------------------------------------------
    @overload
    def __call__(self, target: Request, /) -> Response | None: ...
    @overload
    def __call__(self, target: F, /) -> F: ...
    def __call__(self, target: Any, /) -> Any:
        """Wrap a handler; given a request instead (``group.before_request(guard)``),
        check it in the thread pool."""
        if isinstance(target, Request):
            return self.sync_hook(target)
        return self._wrap(target)

    def _wrap(self, fn: F) -> F:
        def build(take: Callable[[dict[str, Any]], Request]) -> Callable[..., Any]:
            wrapper: Callable[..., Any]
            if is_sync(fn):

                @functools.wraps(fn)
                def wrapper(*args: Any, **kwargs: Any) -> Any:
                    refused = self.check_request(take(kwargs))
                    return refused if refused is not None else fn(*args, **kwargs)

            else:

                @functools.wraps(fn)
                async def wrapper(*args: Any, **kwargs: Any) -> Any:
                    refused = await self.acheck_request(take(kwargs))
                    return refused if refused is not None else await fn(*args, **kwargs)

            return wrapper

        wrapped = wrap_with_request(fn, build)
        setattr(wrapped, GUARDS_ATTRIBUTE, (*getattr(fn, GUARDS_ATTRIBUTE, ()), self.description))
        return wrapped


def wrap_with_request(
    fn: F, build: Callable[[Callable[[dict[str, Any]], Request]], Callable[..., Any]]
) -> F:
    """The wrapper ``build(take)`` makes for ``fn``, where ``take(kwargs)`` gives it the
    request: Kettle passes it as a hidden keyword-only parameter that the outermost
    wrapper adds to the signature and removes before calling ``fn`` (inner guards and
    rate limits share it)."""
    signature = inspect.signature(fn)
    stacked = REQUEST_PARAMETER in signature.parameters
    parameters = list(signature.parameters.values())
    if not stacked:
        hidden = inspect.Parameter(
            REQUEST_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=Request
        )
        at = next((i for i, p in enumerate(parameters) if p.kind is p.VAR_KEYWORD), len(parameters))
        parameters.insert(at, hidden)

    def take(kwargs: dict[str, Any]) -> Request:
        request: Request = kwargs[REQUEST_PARAMETER] if stacked else kwargs.pop(REQUEST_PARAMETER)
        return request

    wrapper = build(take)
    # PERF: Kettle reads this signature once at start-up, like any handler's.
    setattr(wrapper, "__signature__", signature.replace(parameters=parameters))  # noqa: B010
    wrapper.__annotations__ = {**getattr(fn, "__annotations__", {}), REQUEST_PARAMETER: Request}
    return cast(F, wrapper)


def _is_auth_page(request: Request) -> bool:
    """The routes of the auth battery's own group (login, reset): never guarded by hooks."""
    auth = getattr(request.app.state, "auth", None)
    route = request.route
    return auth is not None and route is not None and route.owner is auth.group


def _unauthenticated(request: Request) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        auth = getattr(request.app.state, "auth", None)
        login_url = request.link(auth.login_url if auth is not None else "/auth/login")
        query = request.scope.get("query_string", b"").decode("latin-1")
        here = request.root_path + request.path + ("?" + query if query else "")  # as browsed
        return RedirectResponse(f"{login_url}?{urlencode({'next': here}, quote_via=quote)}", 303)
    raise HTTPException(
        401,
        _(
            "Authentication required: sign in, or send an API token as "
            "`Authorization: Bearer <token>`."
        ),
        {"WWW-Authenticate": "Bearer"},
    )


def _forbidden(description: str) -> HTTPException:
    # The description is the guard's own (a permission or role name): it stays as written.
    message = _("You are signed in but not allowed here: this needs %(what)s.")
    return HTTPException(403, message % {"what": description})


def _authenticated(user: User) -> bool:
    return True


async def _aauthenticated(user: User) -> bool:
    return True


#: Any signed-in (active) user.
login_required = Guard("a signed-in user", _authenticated, _aauthenticated)


def permission_required(*perms: str) -> Guard:
    """Every one of ``perms`` (``"article.change"``); superusers always pass::

    @permission_required("article.add", "article.change")
    def import_articles(request: Request): ...
    """
    if not perms:
        raise ValueError("permission_required needs at least one permission string.")
    names = tuple(perms)

    async def acheck(user: User) -> bool:
        return await user.ahas_perms(names)

    return Guard(f"the permission {', '.join(names)}", lambda u: u.has_perms(names), acheck)


def role_required(*roles: str) -> Guard:
    """Membership of one of the groups named ``roles``; superusers always pass::

    @role_required("editor", "chief-editor")
    async def review(request: Request): ...
    """
    if not roles:
        raise ValueError("role_required needs at least one role (a group name).")
    names = tuple(roles)

    def check(user: User) -> bool:
        return any(user.has_role(role) for role in names)

    async def acheck(user: User) -> bool:
        for role in names:
            if await user.ahas_role(role):
                return True
        return False

    return Guard(f"the role {' or '.join(names)}", check, acheck)


def guard(scaffold: Scaffold, *guards: Guard) -> None:
    """Check ``guards`` before every route of ``scaffold`` (a ``Group`` or the app),
    as async hooks, in order; the auth pages stay open::

        guard(admin_group, login_required, permission_required("article.view"))
    """
    for item in guards:
        scaffold.before_request(item.hook)


__all__ = [
    "GUARDS_ATTRIBUTE",
    "REQUEST_PARAMETER",
    "Guard",
    "guard",
    "login_required",
    "permission_required",
    "role_required",
]
