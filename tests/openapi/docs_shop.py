"""A small typed API for the /docs browser test, served in production with docs on."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from kettle import App, Group
from kettle.openapi import OpenAPI

app = App("shop")
OpenAPI(app, title="Shop", version="1.0.0", description="Teas and kettles.", serve=True)
shop = Group("teas", prefix="/teas")


class Tea(msgspec.Struct):
    """A tea on sale."""

    id: int
    name: Annotated[str, Meta(min_length=1, max_length=80)]
    price: Annotated[float, Meta(ge=0)]


class NewTea(msgspec.Struct):
    name: Annotated[str, Meta(min_length=1, max_length=80)]
    price: Annotated[float, Meta(ge=0)]


TEAS = [Tea(1, "Assam", 4.5), Tea(2, "Darjeeling", 6.0)]


@shop.get("")
def teas(
    limit: Annotated[int, Meta(ge=1, le=100)] = 10,
    sort: Literal["name", "price"] = "name",
) -> list[Tea]:
    """The teas on sale.

    Sorted by `sort`, at most `limit` of them.
    """
    return sorted(TEAS, key=lambda t: getattr(t, sort))[:limit]


@shop.get("/<int:id>")
def tea(id: Annotated[int, Meta(ge=1)]) -> Tea:
    """One tea."""
    return next(t for t in TEAS if t.id == id)


@shop.post("", responses={409: {"model": "Error", "description": "That name is taken."}})
def add(body: NewTea) -> Tea:
    """Put a tea on sale."""
    return Tea(len(TEAS) + 1, body.name, body.price)


app.include(shop)
