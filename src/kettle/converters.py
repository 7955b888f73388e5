"""Typed path converters: ``<int:id>``, ``<slug:name>``, ``<path:rest>`` and your own."""

from __future__ import annotations

from typing import Any, NamedTuple


class Converter(NamedTuple):
    """How a path segment is matched (``regex``), parsed (``to_python``) and built (``to_url``).

    Register your own on the app::

        app.add_converter("year", Converter(r"[0-9]{4}", int, str))

        @app.get("/archive/<year:y>")
        def archive(y: int): ...
    """

    #: The regular expression one parameter must match (no groups, no anchors); it may
    #: not match ``/`` unless the parameter should take the rest of the path.
    regex: str
    #: Turns the matched text into the handler's value (``int``); a ``ValueError`` or
    #: ``TypeError`` makes the route not match, so the request gets a 404.
    to_python: Any = str
    #: Turns a value given to ``url_for`` back into path text (``str``); it must produce
    #: text that ``regex`` matches.
    to_url: Any = str


def _to_uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(text)


def _float_to_url(value: float) -> str:
    from decimal import Decimal

    # NOTE: repr() may use exponent notation (1e-05), which the path pattern cannot match.
    return format(Decimal(repr(float(value))), "f")


#: The converters every app knows, by the name used in a path (``<slug:name>``): ``str``
#: (one segment, the default), ``int``, ``float``, ``uuid``, ``slug`` and ``path`` (the rest
#: of the path, slashes included). ``app.add_converter`` adds to them.
DEFAULT_CONVERTERS: dict[str, Converter] = {
    "str": Converter(r"[^/]+"),
    "int": Converter(r"[0-9]+", int),
    "float": Converter(r"[0-9]+(?:\.[0-9]+)?", float, _float_to_url),
    "uuid": Converter(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", _to_uuid
    ),
    "slug": Converter(r"[-a-zA-Z0-9_]+"),
    "path": Converter(r".+"),
}

__all__ = ["DEFAULT_CONVERTERS", "Converter"]
