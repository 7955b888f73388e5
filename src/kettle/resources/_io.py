"""The database and hook calls of a resource's endpoints, for ``async def`` or ``def``.

The endpoints are written once, as coroutines that await these methods. ``AsyncIO``
really awaits (the async QuerySet API); ``SyncIO``'s methods block and never suspend,
so a ``def`` endpoint runs its coroutine to the end with a single ``send(None)`` in the
thread pool (``drive``). One code path, two ways to run it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from kettle.db import QuerySet, async_session, atomic, sync_session


def drive(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (it awaits ``SyncIO`` only) to its result."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError(
        "A def resource endpoint awaited real async work; its hooks must all be def "
        "(or all async def)."
    )


class AsyncIO:
    """The calls of an ``async def`` endpoint."""

    async def all(self, queryset: QuerySet[Any]) -> list[Any]:
        return await queryset.alist()

    async def count(self, queryset: QuerySet[Any]) -> int:
        return await queryset.acount()

    async def get(self, queryset: QuerySet[Any], id: Any) -> Any:
        return await queryset.aget(pk=id)

    async def exists(self, queryset: QuerySet[Any]) -> bool:
        return await queryset.aexists()

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        result = fn(*args)
        return await result if inspect.isawaitable(result) else result

    async def save(self, obj: Any) -> None:
        await obj.asave()

    async def delete(self, obj: Any) -> None:
        await obj.adelete()

    def expire(self, obj: Any) -> None:
        async_session().expire(obj)

    def atomic(self) -> AbstractAsyncContextManager[Any]:
        return atomic()

    async def has_perm(self, user: Any, perm: str) -> bool:
        return bool(await user.ahas_perm(perm))


class SyncIO(AsyncIO):
    """The calls of a ``def`` endpoint: each blocks, none suspends."""

    async def all(self, queryset: QuerySet[Any]) -> list[Any]:
        return list(queryset)

    async def count(self, queryset: QuerySet[Any]) -> int:
        return queryset.count()

    async def get(self, queryset: QuerySet[Any], id: Any) -> Any:
        return queryset.get(pk=id)

    async def exists(self, queryset: QuerySet[Any]) -> bool:
        return queryset.exists()

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    async def save(self, obj: Any) -> None:
        obj.save()

    async def delete(self, obj: Any) -> None:
        obj.delete()

    def expire(self, obj: Any) -> None:
        sync_session().expire(obj)

    def atomic(self) -> AbstractAsyncContextManager[Any]:
        return _sync_atomic()

    async def has_perm(self, user: Any, perm: str) -> bool:
        return bool(user.has_perm(perm))


@asynccontextmanager
async def _sync_atomic() -> Any:
    with atomic() as session:
        yield session


__all__ = ["AsyncIO", "SyncIO", "drive"]
