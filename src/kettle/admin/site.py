"""``AdminSite``: the admin's routes, its registry of models, who may enter and how pages
are rendered.

::

    app = App()
    db = Database(app)
    auth = Auth(app)
    admin = AdminSite(app)               # pages under /admin/

    admin.register(Tag)                  # the defaults

    @admin.register(Article)             # or options of your own
    class ArticleAdmin(ModelAdmin):
        list_display = ["title", "author", "created"]

Only signed-in staff get in: anonymous visitors are sent to the login page, other users
get a 403. Inside, each page checks the user's permission for its model
(``<table>.view``, ``add``, ``change``, ``delete``).

Templates are looked up in the project's ``templates/`` folder first, so
``templates/admin/base.html`` (or ``templates/admin/<table>/change_list.html`` for one
model) replaces the admin's own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from kettle import timezones
from kettle._errors import wants_html
from kettle.admin import views
from kettle.admin._display import pk_text
from kettle.admin._templates import AdminTemplate, admin_environment
from kettle.admin.checks import check_admin
from kettle.admin.options import ModelAdmin
from kettle.auth.caching import never_store as private_no_store
from kettle.exceptions import ConfigurationError, HTTPException
from kettle.i18n._gettext import gettext as _
from kettle.requests import Request
from kettle.responses.base import JSONResponse, RedirectResponse, Response
from kettle.scaffold import Group

if TYPE_CHECKING:
    import jinja2

    from kettle.app import App
    from kettle.db import Model

A = TypeVar("A", bound=ModelAdmin)
HERE = Path(__file__).resolve().parent
View = Callable[..., Response]
_PERMS = "_kettle_admin_perms"


@dataclass(frozen=True, slots=True)
class NavItem:
    """A model in the admin's navigation: its name, list URL, add URL (if the user may
    add) and whether it is the current page's model::

        NavItem("Articles", "/admin/article/", "/admin/article/add", True, "article")
    """

    #: The model's plural name, capitalised: ``"Articles"``.
    label: str
    #: The URL of the model's list page.
    url: str
    #: The URL of its add page; None when the user may not add.
    add_url: str | None
    #: Whether the current page is one of this model's (the link is marked current).
    active: bool
    #: The model's name in the admin's URLs: ``"article"`` in ``/admin/article/``.
    slug: str
    #: "Add <model>": the accessible name of the add link.
    add_label: str = ""


class AdminSite:
    """The admin of an app (see the module docstring).

    ``prefix`` is where it lives, ``name`` names its routes (``admin.index``,
    ``admin.changelist``...), ``title`` heads every page; ``login_url`` and
    ``logout_url`` are the sign-in and sign-out pages (by default those of
    ``kettle.auth``)::

        admin = AdminSite(app, prefix="/staff", title="Newsroom")
    """

    def __init__(
        self,
        app: App | None = None,
        prefix: str = "/admin",
        *,
        name: str = "admin",
        title: str = "Kettle admin",
        login_url: str | None = None,
        logout_url: str | None = None,
    ) -> None:
        self.name = name
        self.title = title
        self._login_url = login_url
        self._logout_url = logout_url
        self.app: App | None = None
        self._registry: dict[type[Model], ModelAdmin] = {}
        self.group = Group(
            name, prefix=prefix, root=HERE, static="static", models=["kettle.admin.history"]
        )
        self._add_routes()
        # Datetimes in the user's zone (kettle.timezones), and the script that finds it.
        self.group.before_request(self._activate_time_zone)
        timezones.add_script_route(self.group)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: App) -> None:
        """Add the admin's routes to ``app`` and check the registrations at start-up."""
        self.app = app
        app.include(self.group)
        app.on_startup(self.check)
        app.on_response(self.never_store)

    @staticmethod
    async def _activate_time_zone(request: Request) -> None:
        timezones.activate(timezones.zone_for(request))

    def never_store(self, request: Request, response: Response) -> None:
        """Every page under the admin's prefix, its login redirect and error pages included,
        is ``Cache-Control: private, no-store`` (the ``on_response`` hook ``init_app``
        installs; its static files stay cacheable)."""
        prefix = self.group.prefix
        path = request.path
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
            private_no_store(response)

    # --- the registry ----------------------------------------------------------------------
    def register(
        self, model: type[Model], admin_class: type[ModelAdmin] | None = None
    ) -> Callable[[type[A]], type[A]]:
        """Show ``model`` in the admin, with ``admin_class`` or the defaults; used as a
        class decorator, the decorated class gives the options::

            admin.register(Tag)

            @admin.register(Article)
            class ArticleAdmin(ModelAdmin):
                list_display = ["title", "created"]
        """
        slug = model.__tablename__
        clash = next(
            (m for m in self._registry if m.__tablename__ == slug and m is not model), None
        )
        if clash is not None:
            raise ConfigurationError(
                f"[admin.E002] {model.__name__} and {clash.__name__} share the table name "
                f"{slug!r}, which names their admin pages; register only one."
            )
        self._registry[model] = (admin_class or ModelAdmin)(model, self)

        def decorate(cls: type[A]) -> type[A]:
            if not (isinstance(cls, type) and issubclass(cls, ModelAdmin)):
                raise TypeError(f"@admin.register({model.__name__}) decorates ModelAdmin classes.")
            self._registry[model] = cls(model, self)
            return cls

        return decorate

    def unregister(self, model: type[Model]) -> None:
        """Take ``model`` out of the admin: ``admin.unregister(Tag)``."""
        self._registry.pop(model, None)

    def is_registered(self, model: type[Model]) -> bool:
        """Whether ``model`` is in the admin."""
        return model in self._registry

    def admin_for(self, model: type[Any]) -> ModelAdmin | None:
        """The ``ModelAdmin`` of ``model``, or None: ``admin.admin_for(Article).list_display``."""
        return self._registry.get(model)

    def admins(self) -> list[ModelAdmin]:
        """Every registered ``ModelAdmin``, sorted by the models' plural names."""
        return sorted(self._registry.values(), key=lambda a: a.name_plural.lower())

    def by_slug(self, slug: str) -> ModelAdmin:
        """The ``ModelAdmin`` whose table name is ``slug``; a 404 if none."""
        for model_admin in self._registry.values():
            if model_admin.slug == slug:
                return model_admin
        raise HTTPException(404, _("The admin has no model %(slug)s.") % {"slug": repr(slug)})

    def check(self) -> None:
        """Check every registration (run at start-up); raises ``ConfigurationError``
        listing each problem with its check id (``[admin.E101]``...)."""
        problems = []
        if self.app is not None and getattr(self.app.state, "db", None) is None:
            problems.append(
                "[admin.E001] The admin needs kettle.db: create Database(app) before the app "
                "starts."
            )
        if self.app is not None and getattr(self.app.state, "auth", None) is None:
            problems.append(
                "[admin.E003] The admin needs kettle.auth to know who is signed in: create "
                "Auth(app) (after Database(app)) before the app starts."
            )
        for model_admin in self._registry.values():
            problems += check_admin(model_admin)
        if problems:
            raise ConfigurationError("The admin is misconfigured:\n  " + "\n  ".join(problems))

    # --- users and permissions -------------------------------------------------------------------
    def user(self, request: Request) -> Any:
        """The user of ``request``, as ``kettle.auth`` installed it (None without auth)."""
        user = getattr(request, "user", None)
        if user is None:
            user = getattr(request.state, "user", None)
        return user

    def has_perm(self, request: Request, model: type[Any], action: str, obj: Any = None) -> bool:
        """Whether the user may do ``action`` (view/add/change/delete) on ``model`` (or on
        ``obj``); answers without an object are remembered for the request."""
        from kettle.auth import perm_for

        user = self.user(request)
        if user is None:
            return False
        perm = perm_for(model, action)
        if obj is not None:
            return bool(user.has_perm(perm, obj))
        cache: dict[str, bool] | None = getattr(request.state, _PERMS, None)
        if cache is None:
            cache = {}
            setattr(request.state, _PERMS, cache)
        if perm not in cache:
            cache[perm] = bool(user.has_perm(perm))
        return cache[perm]

    def refuse(self, request: Request) -> Response | None:
        """A redirect to the login page for anonymous users; a 403 for users who are not
        staff; None for staff."""
        user = self.user(request)
        if user is None or not getattr(user, "is_authenticated", False):
            query = request.scope.get("query_string", b"").decode("latin-1")
            target = request.root_path + request.path + ("?" + query if query else "")
            login = self.link(request, self.login_url)
            return RedirectResponse(f"{login}?{urlencode({'next': target})}", status=303)
        if not getattr(user, "is_staff", False) or not getattr(user, "is_active", True):
            name = getattr(user, "username", None) or str(user)
            message = _(
                "You are signed in as %(name)s, who is not staff: the admin is for staff only. "
                "Ask an administrator to give you staff status, or sign in as someone else."
            )
            raise HTTPException(403, message % {"name": name})
        return None

    # --- URLs -------------------------------------------------------------------------------------
    @property
    def login_url(self) -> str:
        """Where anonymous visitors are sent: ``login_url``, else kettle.auth's page."""
        if self._login_url is not None:
            return self._login_url
        auth = getattr(self.app.state, "auth", None) if self.app is not None else None
        return str(getattr(auth, "login_url", "/auth/login"))

    @property
    def logout_url(self) -> str:
        """Where the "Sign out" button posts: ``logout_url``, else kettle.auth's."""
        if self._logout_url is not None:
            return self._logout_url
        auth = getattr(self.app.state, "auth", None) if self.app is not None else None
        options = getattr(auth, "options", None)
        return f"{getattr(options, 'prefix', '/auth')}/logout"

    def link(self, request: Request, url: str) -> str:
        """``url`` as a link on this request's page: a path of the app (``login_url``,
        ``logout_url``) under the request's root path, a full URL as it is::

            site.link(request, site.login_url)   # "/office/auth/login" under /office
        """
        return request.link(url)

    def url(self, request: Request, view: str, /, **params: Any) -> str:
        """The URL of one of the admin's pages: ``site.url(request, "changelist", model="tag")``."""
        return request.url_for(f"{self.name}.{view}", **params)

    def object_url(self, request: Request, model_admin: Any, obj: Any) -> str:
        """The URL of ``obj``'s change page."""
        return self.url(request, "change", model=model_admin.slug, id=pk_text(obj))

    # --- pages ------------------------------------------------------------------------------------
    @functools.cached_property
    def templates(self) -> jinja2.Environment:
        """The admin's Jinja2 environment: the project's template folder first, then the
        admin's; the app's template globals and filters included."""
        assert self.app is not None, "AdminSite.init_app(app) was not called."
        return admin_environment(self.app, HERE / "templates")

    def nav(self, request: Request, current: ModelAdmin | None = None) -> list[NavItem]:
        """The models the user may view, for the navigation and the dashboard."""
        items = []
        for model_admin in self.admins():
            if not model_admin.has_view_permission(request):
                continue
            add = (
                self.url(request, "add", model=model_admin.slug)
                if model_admin.has_add_permission(request)
                else None
            )
            url = self.url(request, "changelist", model=model_admin.slug)
            items.append(
                NavItem(
                    model_admin.name_plural.capitalize(),
                    url,
                    add,
                    model_admin is current,
                    model_admin.slug,
                    _("Add %(name)s") % {"name": model_admin.name},
                )
            )
        return items

    def render(
        self,
        request: Request,
        model_admin: ModelAdmin | None,
        page: str,
        context: Mapping[str, Any],
        status: int = 200,
    ) -> AdminTemplate:
        """Render ``admin/<page>.html`` (or ``admin/<table>/<page>.html``, or the admin's
        ``<page>_template``) with the admin's common context."""
        names = []
        if model_admin is not None:
            custom = getattr(model_admin, f"{page}_template", None)
            if custom:
                names.append(custom)
            names.append(f"admin/{model_admin.slug}/{page}.html")
        names.append(f"admin/{page}.html")
        user = self.user(request)
        common = {
            "site": self,
            "nav": self.nav(request, model_admin),
            "user": user,
            "user_name": getattr(user, "username", None) or str(user),
            "model_admin": model_admin,
        }
        return AdminTemplate(self.templates, names, {**common, **context}, status=status)

    # --- routes -----------------------------------------------------------------------------------
    def _add_routes(self) -> None:
        group = self.group

        @group.get("/", name="index")
        async def index(request: Request) -> Response:
            return await self._serve(request, views.index, None)

        @group.route("/<slug:model>/", methods=["GET", "POST"], name="changelist")
        async def changelist(request: Request, model: str) -> Response:
            return await self._serve(request, views.changelist, model)

        @group.route("/<slug:model>/add", methods=["GET", "POST"], name="add")
        async def add(request: Request, model: str) -> Response:
            return await self._serve(request, views.add, model)

        @group.route("/<slug:model>/<id>/change", methods=["GET", "POST"], name="change")
        async def change(request: Request, model: str, id: str) -> Response:
            return await self._serve(request, views.change, model, id=id)

        @group.route("/<slug:model>/<id>/delete", methods=["GET", "POST"], name="delete")
        async def delete(request: Request, model: str, id: str) -> Response:
            return await self._serve(request, views.delete, model, id=id)

        @group.get("/<slug:model>/<id>/history", name="history")
        async def history(request: Request, model: str, id: str) -> Response:
            return await self._serve(request, views.history, model, id=id)

        @group.get("/<slug:model>/autocomplete", name="autocomplete")
        async def autocomplete(request: Request, model: str) -> Response:
            return await self._serve(request, views.autocomplete, model)

        for status in (400, 403, 404, 409):
            group.errorhandler(status)(self._error_page)

    async def _serve(
        self, request: Request, view: View, slug: str | None, **params: Any
    ) -> Response:
        form = await request.form() if request.method == "POST" else None
        # The views are plain functions on the blocking ORM, run in the handler pool.
        response: Response = await request.app.run_sync(
            self._run_view, view, request, form, slug, params
        )
        return response

    def _run_view(
        self, view: View, request: Request, form: Any, slug: str | None, params: dict[str, Any]
    ) -> Response:
        refused = self.refuse(request)
        if refused is not None:
            return refused
        model_admin = self.by_slug(slug) if slug is not None else None
        response = view(self, model_admin, request, form, **params)
        if isinstance(response, AdminTemplate) and not response.rendered:
            # Rendered here, in the handler thread: a template that reads a relation runs
            # its query on the blocking session, never on the event loop.
            response.render_with(request)
        return response

    async def _error_page(self, request: Request, error: HTTPException) -> Response:
        """Errors inside the admin: a page in the admin's style for browsers, JSON for
        scripts. It must not touch the database: the request's unit of work is over."""
        if not wants_html(request):
            return JSONResponse(error.body(), status=error.status, headers=error.headers)
        user = self.user(request)  # loaded before the handler ran: no query here
        staff = bool(getattr(user, "is_staff", False) and getattr(user, "is_active", True))
        context = {"site": self, "status": error.status, "detail": error.detail, "staff": staff}
        template = AdminTemplate(self.templates, ["admin/error.html"], context, error.status)
        for key, value in error.headers.items():
            template.set_header(key, value)
        return template


__all__ = ["AdminSite", "NavItem"]
