"""Opaque, signed cursors for keyset pagination: ``?cursor=<token>``.

A cursor holds the ordering it was made for and the sort values of the last row sent;
the next page is the rows after that row in that ordering (``WHERE (a, id) > (x, 7)``
spelt out per column, so it works for mixed directions on every engine). Rows inserted
or deleted meanwhile never shift a page, as ``OFFSET`` would. The token is signed with
the app's secret key: a client cannot forge positions, and anything that does not
verify, decode or fit the ordering is a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import msgspec

from kettle.db import Q
from kettle.exceptions import BadRequest

_SALT = b"kettle.resources.cursor"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(tuple[list[str], list[Any]]).decode


def _signature(key: str, payload: bytes) -> bytes:
    return hmac.new(_SALT + key.encode(), payload, hashlib.sha256).digest()[:16]


def make(key: str, ordering: Sequence[str], values: Sequence[Any]) -> str:
    """The token for the page after a row with sort ``values`` under ``ordering``::

    make(secret, ["-score", "id"], [12, 40])   # "WyJbLXNjb3Jl..."
    """
    payload = _encode((list(ordering), list(values)))
    token = _signature(key, payload) + payload
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")


def read(key: str, token: str, ordering: Sequence[str], types: Sequence[Any]) -> list[Any]:
    """The sort values in ``token``, converted to ``types``; a 400 when it was not made
    by ``make`` with this key for this ordering."""
    problem = "Invalid cursor: pass back the `next` link of a previous page unchanged."
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise BadRequest(problem) from None
    signature, payload = raw[:16], raw[16:]
    if len(signature) != 16 or not hmac.compare_digest(signature, _signature(key, payload)):
        raise BadRequest(problem)
    try:
        made_for, values = _decode(payload)
    except msgspec.DecodeError:
        raise BadRequest(problem) from None
    if made_for != list(ordering) or len(values) != len(types):
        raise BadRequest(
            f"This cursor was made for ordering={','.join(made_for)}; keep the query "
            "parameters of the page it came from, or start again without a cursor."
        )
    try:
        return [msgspec.convert(v, tp, strict=False) for v, tp in zip(values, types, strict=True)]
    except msgspec.ValidationError:
        raise BadRequest(problem) from None


def after(ordering: Sequence[str], values: Sequence[Any]) -> Q:
    """The rows after ``values`` in ``ordering`` (each name a column, ``-`` descending)::

    after(["-score", "id"], [12, 40])
    # Q(score__lt=12) | (Q(score=12) & Q(id__gt=40))
    """
    condition: Q | None = None
    for i, name in enumerate(ordering):
        field = name.removeprefix("-")
        step = Q(**{f"{field}__{'lt' if name.startswith('-') else 'gt'}": values[i]})
        for earlier, value in zip(ordering[:i], values[:i], strict=False):
            step = step & Q(**{earlier.removeprefix("-"): value})
        condition = step if condition is None else condition | step
    return condition if condition is not None else Q()


__all__ = ["after", "make", "read"]
