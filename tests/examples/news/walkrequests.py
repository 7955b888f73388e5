"""The requests the hostile walk sends (``walker``), as hypothesis strategies built once
per target from what the role's pages showed (``routewalk.Harvest``)::

    strategy = calls(target, harvest, seeds)     # draws Call(method, raw_path, query, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hostile import (
    Raw,
    encoded,
    json_body,
    json_values,
    path_values,
    query_string,
    raws,
    shown,
    values,
    weighted,
)
from hypothesis import strategies as st
from routewalk import Harvest, Target

#: Stands for the role's CSRF token in a request until it is sent (signing in again
#: during the walk gives the session a new one).
TOKEN = b"walk-csrf-token"


@dataclass(frozen=True)
class Call:
    """One request of the walk."""

    method: str
    raw_path: bytes
    query: bytes
    accept: str
    body: bytes | None = None
    content_type: str | None = None
    csrf_header: str | None = None

    @property
    def url(self) -> str:
        return shown(self.raw_path + (b"?" + self.query if self.query else b""), 240)


INT_PATTERN = "[0-9]+"
ACCEPTS = st.sampled_from(["text/html", "application/json", "*/*"])
ONE_IN_FOUR = st.integers(0, 3).map(lambda n: n == 0)
#: What ``<int:...>`` accepts: zero, leading zeros, the edges of 32 and 64 bits, and past.
DIGITS = st.one_of(
    st.sampled_from(["0", "00" + "9" * 25]),
    st.integers(2**31 - 2, 2**31 + 2).map(str),
    st.integers(2**63 - 2, 2**64 + 2).map(str),
    st.integers(10**19, 10**40).map(str),
)


def _path_value(converter: Any, seeded: list[str]) -> Any:
    # Mostly values that lead somewhere, so that the handler sees the rest of the request.
    known = st.sampled_from(seeded or ["1"])
    if converter is not None and converter.regex == INT_PATTERN:
        return weighted((4, known), (1, DIGITS), (1, path_values()))
    return weighted((3, known), (1, path_values()))


def calls(target: Target, harvest: Harvest, seeds: dict[str, list[str]]) -> Any:
    """Requests to ``target``, two kinds mixed:

    - focused (two in three): one input of the route (a path parameter, a query name, a
      form or JSON field) gets a hostile value, the rest is what the route's own pages
      send (path values that lead somewhere, the form's values, the role's CSRF token),
      so that the handler reads the hostile value;
    - wild: hostile path values, a few hostile query names and values, random names,
      hostile fields, sometimes a hostile token, raw bytes and multipart bodies.

    The strategies are made here, once per target: ``call`` only draws from them."""
    known = {
        name: st.sampled_from(harvest.path_values(target, name, seeds))
        for _, name, _ in target.parts
        if name
    }
    hostile_path = {
        name: _path_value(conv, harvest.path_values(target, name, seeds))
        for _, name, conv in target.parts
        if name
    }
    names = harvest.query_names_of(target)
    fields = harvest.fields_of(target)
    inputs = focus_inputs(target, harvest)
    # A few names at a time: one bad value often stops a handler before it reads the rest.
    some_names = st.lists(st.sampled_from(names), max_size=3, unique=True)
    extra_pairs = st.lists(st.tuples(values(), values()), min_size=1, max_size=2)
    field_values = {
        name: weighted((1, st.sampled_from(seen)), (2, values())) if seen else values()
        for name, seen in fields.items()
    }
    own_values = {name: st.sampled_from(seen or [""]) for name, seen in fields.items()}
    token = TOKEN.decode()

    def raw_path(draw: Any, chosen: dict[str, Any]) -> bytes:
        return b"".join(
            literal.encode() + (encoded(draw(chosen[name])) if name else b"")
            for literal, name, _ in target.parts
        )

    @st.composite
    def focused(draw: Any) -> Call:
        kind, focus = draw(st.sampled_from(inputs))
        path = {**known, focus: _hostile_segment(target, focus)} if kind == "path" else known
        pairs = [(focus, draw(values()))] if kind == "query" else []
        made = Call(target.method, raw_path(draw, path), query_string(pairs), draw(ACCEPTS))
        if target.method == "GET":
            return made
        if target.json_fields is not None:
            document = dict(target.json_example)
            if kind == "json":
                document[focus] = draw(json_values())
            return _json_call(made, json_body(document), token)
        body = [(name, draw(value)) for name, value in own_values.items()]
        if kind == "field":
            body = [pair for pair in body if pair[0] != focus] + [(focus, draw(values()))]
        return _form_call(made, body, token)

    @st.composite
    def wild(draw: Any) -> Call:
        pairs = [(name, draw(values())) for name in draw(some_names)]
        if draw(ONE_IN_FOUR):
            pairs += draw(extra_pairs)
        path = raw_path(draw, hostile_path)
        made = Call(target.method, path, query_string(pairs), draw(ACCEPTS))
        if target.method == "GET":
            return made
        if target.json_fields is not None:
            document: Any = {
                name: draw(json_values()) for name in target.json_fields if draw(st.booleans())
            }
            if draw(ONE_IN_FOUR):
                document = draw(json_values())
            body = draw(raws()).data if draw(ONE_IN_FOUR) else json_body(document)
            return _json_call(made, body, token)
        body = [(name, draw(value)) for name, value in field_values.items() if draw(st.booleans())]
        if draw(ONE_IN_FOUR):
            body += draw(extra_pairs)
        # Mostly the role's own token, so that the handler is reached; sometimes a hostile one.
        csrf = draw(values()) if draw(ONE_IN_FOUR) else token
        return _form_call(made, body, csrf, multipart=draw(ONE_IN_FOUR))

    return weighted((2, focused()), (1, wild()))


def _hostile_segment(target: Target, name: str) -> Any:
    converter = next(conv for _, each, conv in target.parts if each == name)
    if converter is not None and converter.regex == INT_PATTERN:
        return weighted((2, DIGITS), (1, path_values()))
    return path_values()


def focus_inputs(target: Target, harvest: Harvest) -> list[tuple[str, str]]:
    """Every input of ``target`` a focused request may make hostile, as (kind, name):
    its own (path, fields, the query names it declares or its pages use) three times
    each, the query names tried on every route once."""
    own = [("path", name) for _, name, _ in target.parts if name]
    common = []
    for name in harvest.query_names_of(target):
        mine = name in target.query_names or name in harvest.query_names.get(target.key, ())
        (own if mine else common).append(("query", name))
    if target.method != "GET":
        if target.json_fields is not None:
            own += [("json", name) for name in target.json_fields]
        else:
            own += [("field", name) for name in harvest.fields_of(target)]
    return [*own, *own, *own, *common]


def _json_call(made: Call, body: bytes, token: str) -> Call:
    return Call(
        made.method, made.raw_path, made.query, made.accept, body, "application/json", token
    )


def _form_call(
    made: Call, pairs: list[tuple[Any, Any]], csrf: Any, *, multipart: bool = False
) -> Call:
    pairs = [*pairs, ("csrf_token", csrf)]
    if multipart:
        body, kind = _multipart(pairs)
    else:
        body, kind = query_string(pairs), "application/x-www-form-urlencoded"
    return Call(made.method, made.raw_path, made.query, made.accept, body, kind)


def _multipart(pairs: list[tuple[Any, Any]]) -> tuple[bytes, str]:
    boundary = b"walk-boundary-7d1a"
    parts = []
    for name, value in pairs:
        name_bytes = name.data if isinstance(name, Raw) else name.encode("utf-8", "surrogatepass")
        data = value.data if isinstance(value, Raw) else value.encode("utf-8", "surrogatepass")
        disposition = b'Content-Disposition: form-data; name="' + name_bytes + b'"'
        parts.append(b"--" + boundary + b"\r\n" + disposition + b"\r\n\r\n" + data + b"\r\n")
    body = b"".join(parts) + b"--" + boundary + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary.decode()}"
