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

    regex: str
    to_python: Any = str
    to_url: Any = str


def _to_uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(text)


def _float_to_url(value: float) -> str:
    from decimal import Decimal

    # NOTE: repr() may use exponent notation (1e-05), which the path pattern cannot match.
    return format(Decimal(repr(float(value))), "f")


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
