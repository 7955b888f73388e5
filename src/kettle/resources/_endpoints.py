"""The six endpoints of a resource, written once (see ``_io``) over a compiled ``Plan``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import msgspec
from sqlalchemy import exc as sa_exc

from kettle._messages import invalid, where
from kettle.datastructures import MultiDict
from kettle.exceptions import HTTPException, ValidationError
from kettle.requests import Request
from kettle.resources import _cursor, _schema
from kettle.resources._io import AsyncIO
from kettle.resources._listing import Query, read_fields
from kettle.resources._plan import Plan, etag_of, matches, precondition_failed
from kettle.responses.base import JSONResponse, Response

T = TypeVar("T")


class ListPage(msgspec.Struct, Generic[T], kw_only=True, omit_defaults=True):
    """The body of a list: the items, and where the other pages are."""

    items: list[T]
    #: The URL of the next page, or null on the last.
    next: str | None
    #: Rows in all pages (page pagination only).
    count: int | msgspec.UnsetType = msgspec.UNSET
    #: This page's number and how many there are (page pagination only).
    page: int | msgspec.UnsetType = msgspec.UNSET
    pages: int | msgspec.UnsetType = msgspec.UNSET
    #: The URL of the previous page, or null on the first (page pagination only).
    previous: str | msgspec.UnsetType | None = msgspec.UNSET


class Endpoints:
    """A resource's endpoints as coroutines; ``io`` decides how they run."""

    def __init__(self, plan: Plan, io: AsyncIO) -> None:
        self.plan = plan
        self.io = io
        self.resource = plan.resource
        #: The list's query and rows, and the retrieve's rows, when neither a query string
        #: nor get_queryset changes them (built at the first request: see _defaults).
        self._default_list: tuple[Query, Any] | None = None
        self._default_retrieve: Any = None

    # --- the endpoints -------------------------------------------------------------------
    async def list(self, request: Request) -> Any:
        plan, io = self.plan, self.io
        await self._may_read(request, "list")
        # PERF: a page is a fixed number of statements whatever its size: COUNT (page
        # pagination with page_count only, and only when the page is full), the rows with
        # their to-one relations JOINed, and one SELECT ... IN per to-many relation (tested
        # with assert_num_queries). Without a to-many relation the rows are tuples
        # rendered straight into the output Structs (see _rows).
        if "get_queryset" in plan.overridden or request.scope.get("query_string"):
            query = plan.listing.read(
                request.query, await self._queryset(request), _secret(request)
            )
            rows = self._rows(query.queryset)
        else:
            query, rows = self._defaults()[0]
        reader = plan.rows
        if reader is None:
            render: Callable[[Any], Any] = plan.render
            cursor_values: Callable[[Any, tuple[str, ...]], list[Any]] = plan.cursor_values
        else:
            render, cursor_values = reader.render, reader.cursor_values
        fields = query.fields
        if fields is not None:
            whole = render
            render = lambda row: plan.only(whole(row), fields)  # noqa: E731
        size = query.page_size
        if query.cursor is not None or plan.listing.cursor_types is not None:
            found = await io.all(rows[: size + 1])
            more, found = len(found) > size, found[:size]
            token = (
                _cursor.make(
                    _secret(request), query.ordering, cursor_values(found[-1], query.ordering)
                )
                if more
                else None
            )
            items = [render(row) for row in found]
            return ListPage(items=items, next=_link(request, "cursor", token) if token else None)
        start = (query.page - 1) * size
        previous = _link(request, "page", str(query.page - 1)) if query.page > 1 else None
        if not self.resource.page_count:
            found = await io.all(rows[start : start + size + 1])
            if not found and query.page > 1:
                raise HTTPException(404, f"There is no page {query.page}; this one is empty.")
            more, found = len(found) > size, found[:size]
            return ListPage(
                items=[render(row) for row in found],
                page=query.page,
                next=_link(request, "page", str(query.page + 1)) if more else None,
                previous=previous,
            )
        found = await io.all(rows[start : start + size])
        # PERF: a page that is neither empty nor full is the last one: it tells the count
        # without a COUNT.
        if 0 < len(found) < size:
            total = start + len(found)
        else:
            total = await io.count(query.queryset)
        pages = max(1, -(-total // size))
        if query.page > pages:
            raise HTTPException(404, f"There is no page {query.page}; pages run from 1 to {pages}.")
        return ListPage(
            items=[render(row) for row in found],
            count=total,
            page=query.page,
            pages=pages,
            next=_link(request, "page", str(query.page + 1)) if query.page < pages else None,
            previous=previous,
        )

    async def retrieve(self, request: Request, id: int) -> Any:
        plan = self.plan
        if not self.resource.public_read:
            await self._may_read(request, "retrieve")
        # PERF: no query string, no ?fields= (and no MultiDict parsed to say so).
        fields = (
            read_fields(request.query, plan.output_fields)
            if request.scope.get("query_string")
            else None
        )
        reader = plan.rows
        if reader is None or plan.objects_needed("retrieve"):
            queryset = self._loaded(await self._queryset(request))
            obj = await self._object(request, queryset, id)
            await self._may(request, obj, "retrieve")
            etag, made = plan.etag(obj), plan.render(obj, fields)
        else:
            # PERF: one row as a tuple (see _rows), by get(): its lookup, its 404, and
            # whatever fast path kettle.db gives get(pk=) on a values_list().
            if "get_queryset" in plan.overridden:
                rows = (await self._queryset(request)).values_list(*reader.names)
            else:
                rows = self._defaults()[1]
            row = await self.io.get(rows, id)
            etag = etag_of(reader.etag_values(row))
            made = reader.render(row) if fields is None else plan.only(reader.render(row), fields)
        if matches(request.headers.get("if-none-match"), etag):
            return Response(b"", status=304, headers={"ETag": etag}, media_type=None)
        return JSONResponse(made, headers={"ETag": etag})

    async def create(self, request: Request, body: Any) -> Any:
        plan = self.plan
        await self._may_write(request, "create")
        values = _schema.sent(body)
        await self._check_references(values)
        obj = plan.model(**{**plan.defaults, **values})
        await self._may(request, obj, "create")
        await self._save(request, obj, "perform_create")
        obj = await self._reload(obj)
        location = f"{request.scope.get('root_path', '')}{request.path.rstrip('/')}/{obj.id}"
        headers = {"Location": location, "ETag": plan.etag(obj)}
        return JSONResponse(plan.render(obj), status=201, headers=headers)

    async def update(self, request: Request, id: int, body: Any) -> Any:
        return await self._change(request, id, body, "update")

    async def partial_update(self, request: Request, id: int, body: Any) -> Any:
        return await self._change(request, id, body, "partial_update")

    async def delete(self, request: Request, id: int) -> Any:
        obj = await self._locked(request, id, "delete")
        if "perform_delete" in self.plan.overridden:
            await self.io.call(self.resource.perform_delete, request, obj)
        else:
            await self.io.delete(obj)
        return Response(b"", status=204, media_type=None)

    # --- steps ---------------------------------------------------------------------------
    async def _change(self, request: Request, id: int, body: Any, action: str) -> Any:
        plan = self.plan
        obj = await self._locked(request, id, action)
        values = _schema.sent(body)
        await self._check_references(values)
        for name, value in values.items():
            setattr(obj, name, value)
        await self._save(request, obj, "perform_update")
        obj = await self._reload(obj)
        return JSONResponse(plan.render(obj), headers={"ETag": plan.etag(obj)})

    async def _locked(self, request: Request, id: int, action: str) -> Any:
        """The row to change, locked until the request ends, its ETag checked."""
        await self._may_write(request, action)
        precondition = request.headers.get("if-match")
        if precondition is None and self.resource.require_if_match:
            raise HTTPException(
                428, "This resource needs If-Match: send the ETag of your last GET of the row."
            )
        # NOTE: the lock (FOR UPDATE; SQLite's write lock) makes the compare and the write
        # one step: a concurrent writer waits here, then sees the new row and its ETag.
        queryset = (await self._queryset(request)).select_for_update()
        obj = await self._object(request, queryset, id)
        etag = self.plan.etag(obj)
        if precondition is not None and not matches(precondition, etag):
            raise precondition_failed(etag)
        await self._may(request, obj, action)
        return obj

    async def _queryset(self, request: Request) -> Any:
        if "get_queryset" in self.plan.overridden:
            return await self.io.call(self.resource.get_queryset, request)
        return self.plan.model.objects.all()

    def _rows(self, queryset: Any) -> Any:
        """What a read fetches from ``queryset``: tuples (``_rows``) or objects with their
        nested relations loaded."""
        if self.plan.rows is None:
            return self._loaded(queryset)
        return queryset.values_list(*self.plan.rows.names)

    def _defaults(self) -> tuple[tuple[Query, Any], Any]:
        """Build the QuerySets of a list and a retrieve without a query string or
        get_queryset once (a QuerySet is never changed in place, so they are shared)."""
        if self._default_list is not None:
            return self._default_list, self._default_retrieve
        objects = self.plan.model.objects.all()
        query = self.plan.listing.read(MultiDict(), objects, "")
        self._default_list = (query, self._rows(query.queryset))
        self._default_retrieve = self._rows(objects)
        return self._default_list, self._default_retrieve

    def _loaded(self, queryset: Any) -> Any:
        plan = self.plan
        if plan.to_one:
            queryset = queryset.select_related(*plan.to_one)
        if plan.to_many:
            queryset = queryset.prefetch_related(*plan.to_many)
        return queryset

    async def _object(self, request: Request, queryset: Any, id: int) -> Any:
        if "get_object" in self.plan.overridden:
            return await self.io.call(self.resource.get_object, request, queryset, id)
        return await self.io.get(queryset, id)

    async def _save(self, request: Request, obj: Any, hook: str) -> None:
        try:
            async with self.io.atomic():
                if hook in self.plan.overridden:
                    await self.io.call(getattr(self.resource, hook), request, obj)
                else:
                    await self.io.save(obj)
        except sa_exc.IntegrityError as error:
            raise HTTPException(
                409,
                f"The database refused the {self.plan.model.__name__} "
                f"({type(error.orig).__name__}): a unique value is taken, or a row it "
                "points at is gone. Check the values and send them again.",
            ) from None

    async def _reload(self, obj: Any) -> Any:
        """The saved row as it is now, with its nested relations (one query)."""
        pk = obj.id
        self.io.expire(obj)
        return await self.io.get(self._loaded(self.plan.model.objects.all()), pk)

    async def _check_references(self, values: dict[str, Any]) -> None:
        errors = []
        for name, target in self.plan.references.items():
            value = values.get(name)
            if value is not None and not await self.io.exists(target.objects.filter(pk=value)):
                message = invalid(where("body", [name]), f"no {target.__name__} has id {value}")
                errors.append({"loc": ["body", name], "msg": message, "type": "invalid"})
        if errors:
            raise ValidationError(errors)

    # --- permissions ---------------------------------------------------------------------
    async def _may_read(self, request: Request, action: str) -> None:
        if not self.resource.public_read:
            await self._may_write(request, action, model_permissions=True)

    async def _may_write(
        self, request: Request, action: str, *, model_permissions: bool | None = None
    ) -> None:
        from kettle.auth import get_user

        user = get_user(request)
        if not user.is_authenticated:
            raise HTTPException(
                401,
                "Authentication required: sign in, or send an API token as "
                "`Authorization: Bearer <token>`.",
                {"WWW-Authenticate": "Bearer"},
            )
        check = self.resource.model_permissions if model_permissions is None else True
        if check:
            perm = self.plan.permission(action)
            if not await self.io.has_perm(user, perm):
                raise HTTPException(
                    403,
                    f"You are signed in but not allowed here: this needs the permission {perm}.",
                )

    async def _may(self, request: Request, obj: Any, action: str) -> None:
        if "has_object_permission" not in self.plan.overridden:
            return
        if not await self.io.call(self.resource.has_object_permission, request, obj, action):
            raise HTTPException(
                403, f"You may not {action.replace('_', ' ')} this {self.plan.model.__name__}."
            )


def _secret(request: Request) -> str:
    return str(getattr(request.app.settings, "secret_key", "") or "")


def _link(request: Request, key: str, value: str) -> str:
    """This request's URL with ``key=value`` (the other parameters kept)."""
    if not request.scope.get("query_string"):
        # PERF: the default list's next page: nothing to keep.
        return f"{request.scope.get('root_path', '')}{request.path}?{urlencode(((key, value),))}"
    items = [(k, v) for k, v in request.query.multi_items() if k not in (key, "page", "cursor")]
    items.append((key, value))
    return f"{request.scope.get('root_path', '')}{request.path}?{urlencode(items)}"


__all__ = ["Endpoints", "ListPage"]
