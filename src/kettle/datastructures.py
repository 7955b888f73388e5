"""Read-only multi-value mappings for headers, query strings and forms."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar, overload

V = TypeVar("V")
D = TypeVar("D")


class MultiDict(Mapping[str, V], Generic[V]):
    """A mapping that keeps every value of a repeated key.

    Indexing returns the last value (as a browser form would submit it);
    ``getlist`` returns them all::

        q = MultiDict([("tag", "a"), ("tag", "b")])
        assert q["tag"] == "b" and q.getlist("tag") == ["a", "b"]
    """

    __slots__ = ("_items", "_last")

    def __init__(self, items: list[tuple[str, V]] | None = None) -> None:
        self._items: list[tuple[str, V]] = list(items) if items else []
        self._last: dict[str, V] = dict(self._items)

    def __getitem__(self, key: str) -> V:
        return self._last[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._last)

    def __len__(self) -> int:
        return len(self._last)

    def __contains__(self, key: object) -> bool:
        return key in self._last

    def getlist(self, key: str) -> list[V]:
        """Every value given for ``key``, in order; an empty list if there is none."""
        return [v for k, v in self._items if k == key]

    def multi_items(self) -> list[tuple[str, V]]:
        """All ``(key, value)`` pairs, repeated keys included."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only view of raw ASGI headers.

    ::

        h = Headers([(b"content-type", b"text/html")])
        assert h["Content-Type"] == "text/html"
    """

    __slots__ = ("_dict", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        #: The headers as received: ``(name, value)`` byte pairs in order, repeated headers
        #: kept apart (``[(b"accept", b"text/html"), (b"cookie", b"a=1")]``).
        self.raw = raw
        self._dict: dict[str, str] | None = None

    def _map(self) -> dict[str, str]:
        if self._dict is None:
            d: dict[str, str] = {}
            for k, v in self.raw:
                key = k.decode("latin-1").lower()
                value = v.decode("latin-1")
                # Repeated headers are joined as RFC 9110 allows, except cookies.
                if key in d:
                    d[key] = d[key] + ("; " if key == "cookie" else ", ") + value
                else:
                    d[key] = value
            self._dict = d
        return self._dict

    def __getitem__(self, key: str) -> str:
        return self._map()[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._map()

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str | D) -> str | D: ...
    def get(self, key: str, default: object = None) -> object:
        return self._map().get(key.lower(), default)

    def getlist(self, key: str) -> list[str]:
        """Every value of a repeated header, not joined."""
        name = key.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self.raw if k.lower() == name]

    def __repr__(self) -> str:
        return f"Headers({self.raw!r})"


__all__ = ["Headers", "MultiDict"]
