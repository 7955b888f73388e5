"""``Resource``: a kettle.db model published as a JSON resource, declared in one class.

::

    class ArticleResource(Resource):
        model = Article
        fields = ("id", "title", "url", "score", "created", "author", "author_id")
        read_only_fields = ("score",)
        nested = {"author": ("id", "username")}
        filters = {"author__username": ("exact",), "created": ("gte", "lte")}
        ordering = ("created", "score")
        search_fields = ("title",)

    app.resource("/api/articles", ArticleResource)

The class attributes say what is published; the ``get_*``, ``has_object_permission``
and ``perform_*`` hooks change how, as the admin's do. Hooks may be ``def`` or ``async
def`` (not both in one resource): with ``def`` hooks the endpoints run in the thread
pool and query with the blocking API, else they are ``async def`` throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from kettle.db import Model, QuerySet
    from kettle.requests import Request

#: The name of an endpoint, as ``actions``, ``decorators`` and the hooks name them.
Action = Literal["list", "retrieve", "create", "update", "partial_update", "delete"]
#: Every endpoint a resource can have, in the order they are mounted.
ACTIONS: tuple[Action, ...] = (
    "list",
    "retrieve",
    "create",
    "update",
    "partial_update",
    "delete",
)
#: The model permission (``kettle.auth.perm_for``) each action needs.
PERMISSIONS: dict[str, str] = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "delete": "delete",
}


class Resource:
    """Publish ``model`` as JSON: list, retrieve, create, replace, update and delete.

    Subclass it, set ``model`` (and whatever else differs from the defaults) and mount
    it with ``app.resource(prefix, ResourceClass)``::

        class TagResource(Resource):
            model = Tag
            fields = ("id", "name")
            ordering = ("name",)

        app.resource("/api/tags", TagResource)   # GET/POST /api/tags, GET/PUT/PATCH/DELETE
                                                   # /api/tags/<id>

    One instance serves every request, so hooks keep nothing of a request on ``self``.
    """

    #: The model to publish (required).
    model: ClassVar[type[Model]]
    #: The fields in responses and bodies: columns (``"author_id"``) and relations named
    #: in ``nested``; empty means every column.
    fields: ClassVar[Sequence[str]] = ()
    #: Fields sent but never accepted; the primary key and ``auto_now``/``auto_now_add``
    #: timestamps always are.
    read_only_fields: ClassVar[Sequence[str]] = ()
    #: Fields accepted but never sent back (a secret, a password).
    write_only_fields: ClassVar[Sequence[str]] = ()
    #: Relations rendered as objects, with the related model's fields to show:
    #: ``{"author": ("id", "username")}`` (to-one), ``{"tags": ("id", "name")}`` (to-many).
    #: Nested objects are read-only; write the ``<relation>_id`` column.
    nested: ClassVar[Mapping[str, Sequence[str]]] = {}
    #: The filters clients may use, field (or to-one path) to lookups:
    #: ``{"score": ("gte",)}`` allows ``?score__gte=10``; ``"exact"`` is ``?field=value``.
    filters: ClassVar[Mapping[str, Sequence[str]]] = {}
    #: The fields ``?ordering=-score,created`` may name.
    ordering: ClassVar[Sequence[str]] = ()
    #: The order of a list without ``?ordering=``; empty: the model's ``Meta.ordering``,
    #: else by primary key. ``id`` is always added last, so pages never overlap.
    default_ordering: ClassVar[Sequence[str]] = ()
    #: Fields ``?search=tea`` looks in (case-insensitively, any of them).
    search_fields: ClassVar[Sequence[str]] = ()
    #: Rows per page unless ``?page_size=`` asks otherwise.
    page_size: ClassVar[int] = 20
    #: The most rows a page holds: a larger ``?page_size=`` is clamped to it.
    max_page_size: ClassVar[int] = 100
    #: ``"page"``: ``?page=2`` and a count; ``"cursor"``: ``?cursor=<next>``, no count,
    #: stable while rows come and go (the orderings must be non-null columns).
    pagination: ClassVar[Literal["page", "cursor"]] = "page"
    #: Whether a page says how many rows and pages there are (a ``COUNT`` per list
    #: request). False saves that statement on big tables: ``count`` and ``pages`` are
    #: left out and ``next`` comes from fetching one row more.
    page_count: ClassVar[bool] = True
    #: The endpoints to mount (default: all six).
    actions: ClassVar[Sequence[Action]] = ACTIONS
    #: Whether anyone, signed in or not, may list and retrieve; False asks for the
    #: model's ``view`` permission.
    public_read: ClassVar[bool] = True
    #: Whether writes need the model's ``add``/``change``/``delete`` permission (False:
    #: any signed-in user, with ``has_object_permission`` deciding per row). Writes
    #: always need a signed-in user.
    model_permissions: ClassVar[bool] = True
    #: Decorators (guards such as ``login_required``, ``rate_limit(...)``) per action;
    #: ``"*"`` is every action, ``"read"`` list and retrieve, ``"write"`` the others:
    #: ``{"write": (rate_limit("30/minute"),)}``.
    decorators: ClassVar[Mapping[str, Sequence[Callable[..., Any]]]] = {}
    #: Whether PUT, PATCH and DELETE must send ``If-Match`` (else 428).
    require_if_match: ClassVar[bool] = False

    def get_queryset(self, request: Request) -> QuerySet[Any]:
        """The rows this request may see (``def`` or ``async def``; it should build a
        query and run none)::

            def get_queryset(self, request):
                return Article.objects.filter(hidden=False)
        """
        return self.model.objects.all()

    def get_object(self, request: Request, queryset: QuerySet[Any], id: int) -> Any:
        """The row ``id`` of ``queryset`` (already limited by ``get_queryset`` and, for
        writes, locked); a ``DoesNotExist`` is the 404::

            async def get_object(self, request, queryset, id):
                return await queryset.aget(slug=request.path_params["slug"])
        """
        return queryset.get(pk=id)

    def has_object_permission(self, request: Request, obj: Any, action: str) -> bool:
        """Whether the user may do ``action`` (``"retrieve"``, ``"update"``, ...) to
        ``obj``; False is a 403 (a new object is asked about before it is saved)::

            def has_object_permission(self, request, obj, action):
                return action == "retrieve" or obj.author_id == request.user.id
        """
        return True

    def perform_create(self, request: Request, obj: Any) -> None:
        """Save a new object (set fields the client cannot, first)::

        def perform_create(self, request, obj):
            obj.author_id = request.user.id
            obj.save()
        """
        obj.save()

    def perform_update(self, request: Request, obj: Any) -> None:
        """Save an object changed by PUT or PATCH: ``obj.save()``."""
        obj.save()

    def perform_delete(self, request: Request, obj: Any) -> None:
        """Delete an object: ``obj.delete()``."""
        obj.delete()


#: The hooks that decide whether endpoints are ``def`` or ``async def``.
HOOKS = (
    "get_object",
    "has_object_permission",
    "perform_create",
    "perform_update",
    "perform_delete",
)

__all__ = ["ACTIONS", "HOOKS", "PERMISSIONS", "Action", "Resource"]
