"""Markers that say where a handler parameter comes from, used with ``Annotated``.

Without a marker Kettle infers the source: a name in the route path is a path parameter,
``Request`` is the request, a Struct or dataclass is the JSON body, ``UploadFile`` is an
uploaded file and anything else is a query parameter::

    @app.post("/articles/<int:id>/comments")
    def comment(
        id: int,                                        # path
        body: NewComment,                               # JSON body (a msgspec Struct)
        notify: bool = False,                           # query: ?notify=true
        agent: Annotated[str, Header("user-agent")] = "",
        theme: Annotated[str | None, Cookie()] = None,
    ): ...
"""

from __future__ import annotations

from typing import Literal, NamedTuple

#: The parts of a request a handler parameter can be read from: the route path, the
#: query string, a header, a cookie, the JSON body, a form field or an uploaded file.
Source = Literal["path", "query", "header", "cookie", "body", "form", "file"]


class Param(NamedTuple):
    """Where a parameter is read from, and under which name (``alias``)."""

    #: The part of the request the value comes from: ``"query"``, ``"header"``, ...
    source: Source
    #: The name in the request when it differs from the parameter's (``"user-agent"``,
    #: ``"p"`` for ``?p=2``); None uses the parameter's own name (for a header, with
    #: ``_`` read as ``-``).
    alias: str | None = None


def Query(alias: str | None = None) -> Param:
    """A query string parameter: ``page: Annotated[int, Query("p")] = 1`` reads ``?p=2``."""
    return Param("query", alias)


def Header(alias: str | None = None) -> Param:
    """A request header; ``user_agent`` reads ``User-Agent`` unless an alias is given."""
    return Param("header", alias)


def Cookie(alias: str | None = None) -> Param:
    """A cookie sent by the client: ``theme: Annotated[str, Cookie()] = "light"``."""
    return Param("cookie", alias)


def Body() -> Param:
    """The JSON body decoded into the annotated type (any type msgspec can decode)."""
    return Param("body")


def Form(alias: str | None = None) -> Param:
    """A form field, or the whole form when the type is a Struct or dataclass."""
    return Param("form", alias)


def File(alias: str | None = None) -> Param:
    """An uploaded file (``UploadFile``) or several (``list[UploadFile]``)."""
    return Param("file", alias)


__all__ = ["Body", "Cookie", "File", "Form", "Header", "Param", "Query", "Source"]
