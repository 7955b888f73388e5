"""Believing a trusted reverse proxy: ``Forwarded`` (RFC 7239) and ``X-Forwarded-*``.

The app resolves a request once, before routing: when the direct peer is one of
``trusted_proxies``, the client address, scheme and host it forwarded replace the peer's
in the ASGI scope, so ``request.client``, ``request.url``, CSRF origin checks, external
links and redirects all see what the client saw. From anyone else the headers are ignored.

When a request carries ``Forwarded``, the ``X-Forwarded-*`` headers are ignored: a proxy
that writes the standard header may pass the others through from the client untouched.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from kettle._types import Scope

#: An RFC 7230 token, or a quoted string (backslash escapes allowed).
_PAIR = re.compile(
    r"""\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[!#$%&'*+.^_`|~0-9A-Za-z-]*)\s*"""
)
_ESCAPE = re.compile(r"\\(.)")


class Hop(NamedTuple):
    """One proxy hop: the address it received the request from, and what it was asked.

    ``forwarded_hops('for=192.0.2.1;proto=https;host=example.com')`` gives
    ``[Hop("192.0.2.1", 0, "https", "example.com")]``; a hop that could not be read has
    ``address`` None.
    """

    #: The address the proxy saw, as text (``"2001:db8::1"``), None when not an IP.
    address: str | None
    #: The port the proxy saw the request come from (0 when not given).
    port: int
    #: ``http`` or ``https`` as asked of this proxy; None when not given or invalid.
    proto: str | None
    #: The ``Host`` asked of this proxy, None when not given.
    host: str | None


class Forwarding(NamedTuple):
    """What a trusted proxy chain says about the client (``resolve``'s answer)."""

    #: The client's ``(host, port)``.
    client: tuple[str, int]
    #: ``http`` or ``https``; None keeps the scheme the server saw.
    scheme: str | None
    #: The host the client asked for; None keeps the ``Host`` header.
    host: str | None


def _unquote(value: str) -> str:
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return _ESCAPE.sub(r"\1", value[1:-1])
    return value


# PERF: ipaddress parsing is most of a proxied request's cost here; clients and proxies
# repeat, so answers are kept (bounded).
@functools.lru_cache(maxsize=4096)
def _node(text: str) -> tuple[str | None, int]:
    """``"[2001:db8::1]:4711"`` -> ``("2001:db8::1", 4711)``; ``unknown`` -> ``(None, 0)``."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None, 0
        host, rest = text[1:end], text[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            return None, 0
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""  # a bare IPv6 address (X-Forwarded-For) or IPv4
    import ipaddress  # PERF: only apps with trusted proxies pay for the import

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None, 0
    return str(address), int(port) if port.isdigit() and int(port) < 65536 else 0


def _proto(value: str | None) -> str | None:
    value = value.strip().lower() if value else None
    return value if value in ("http", "https") else None


def _elements(header: str) -> list[str]:
    """The comma-separated elements of ``header``; commas inside quoted strings are kept,
    and an unterminated quote runs to the end (one unreadable element)."""
    elements: list[str] = []
    start, quoted, escaped = 0, False, False
    for i, char in enumerate(header):
        if escaped:
            escaped = False
        elif quoted:
            quoted, escaped = char != '"', char == "\\"
        elif char == '"':
            quoted = True
        elif char == ",":
            elements.append(header[start:i])
            start = i + 1
    elements.append(header[start:])
    return [e for e in elements if e.strip()]


@functools.lru_cache(maxsize=1024)
def forwarded_hops(header: str) -> tuple[Hop, ...]:
    """The hops of an RFC 7239 ``Forwarded`` header, the client's side first.

    Elements that cannot be parsed become hops with no address, so that a client's garbage
    at the start of the header never hides the well-formed hops its proxies appended::

        forwarded_hops('for="[2001:db8::1]:80";proto=https, for=10.0.0.2')
        # (Hop("2001:db8::1", 80, "https", None), Hop("10.0.0.2", 0, None, None))
    """
    hops: list[Hop] = []
    for element in _elements(header):
        pairs: dict[str, str] = {}
        pos, ok = 0, True
        while pos < len(element):
            pair = _PAIR.match(element, pos)
            if pair is None:
                ok = False
                break
            pairs.setdefault(pair.group(1).lower(), _unquote(pair.group(2)))
            pos = pair.end()
            if pos < len(element):
                if element[pos] != ";":
                    ok = False
                    break
                pos += 1
        if not ok:
            hops.append(Hop(None, 0, None, None))
            continue
        address, port = _node(pairs["for"]) if "for" in pairs else (None, 0)
        hops.append(Hop(address, port, _proto(pairs.get("proto")), pairs.get("host") or None))
    return tuple(hops)


def x_forwarded_hops(
    forwarded_for: str | None, proto: str | None, host: str | None, port: str | None
) -> list[Hop]:
    """Hops from ``X-Forwarded-For``, with ``-Proto``, ``-Host`` and ``-Port`` lined up.

    A ``-Proto`` or ``-Host`` list as long as the address list gives each hop its own
    value; otherwise every hop gets the last value (the one the nearest proxy wrote)::

        x_forwarded_hops("203.0.113.9, 10.0.0.2", "https", None, None)
        # [Hop("203.0.113.9", 0, "https", None), Hop("10.0.0.2", 0, "https", None)]
    """
    addresses = [a.strip() for a in (forwarded_for or "").split(",")]
    addresses = [a for a in addresses if a] or [""]
    if port and port.strip().isdigit() and host and ":" not in host.rsplit("]", 1)[-1]:
        host = f"{host.strip()}:{port.strip()}"

    def lined_up(value: str | None) -> list[str | None]:
        parts = [p.strip() for p in value.split(",")] if value else []
        if len(parts) == len(addresses):
            return list(parts)
        return [parts[-1] if parts else None] * len(addresses)

    protos, hosts = lined_up(proto), lined_up(host)
    hops = []
    for address, p, h in zip(addresses, protos, hosts, strict=True):
        ip, at = _node(address) if address else (None, 0)
        hops.append(Hop(ip, at, _proto(p), h or None))
    return hops


@functools.lru_cache(maxsize=4096)
def is_trusted(host: str, proxies: tuple[Any, ...]) -> bool:
    """Whether ``host`` (an IP address as text) is in one of the ``proxies`` networks.

    ::

        is_trusted("10.0.0.2", (ipaddress.ip_network("10.0.0.0/8"),))  # True
    """
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in proxies)


def resolve(
    peer: tuple[str, int], headers: dict[bytes, bytes], proxies: tuple[Any, ...]
) -> Forwarding | None:
    """What the proxy chain ending at the trusted ``peer`` says, or None if it says nothing.

    Walks the hops from the nearest back, skipping trusted proxies; the first hop that is
    not trusted is the client, and its element's proto and host are what the client asked.
    A hop with no readable address stops the walk at the last trusted proxy::

        resolve(("10.0.0.1", 5000), {b"x-forwarded-for": b"203.0.113.9"}, proxies)
        # Forwarding(client=("203.0.113.9", 0), scheme=None, host=None)
    """
    forwarded = headers.get(b"forwarded")
    hops: Sequence[Hop]
    if forwarded is not None:
        hops = forwarded_hops(forwarded.decode("latin-1"))
    else:
        names = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port")
        values = [headers.get(n) for n in names]
        if not any(values):
            return None
        hops = x_forwarded_hops(*(v.decode("latin-1") if v else None for v in values))
    if not hops:
        return None
    client: tuple[str, int] = peer
    chosen = hops[-1]
    for hop in reversed(hops):
        chosen = hop
        if hop.address is None:
            break
        client = (hop.address, hop.port)
        if not is_trusted(hop.address, proxies):
            break
    return Forwarding(client, chosen.proto, chosen.host)


def apply(scope: Scope, proxies: tuple[Any, ...]) -> bytes | None:
    """Rewrite ``scope`` with what a trusted peer forwarded; the forwarded host, if any.

    The scope's ``client`` and ``scheme`` change, and a forwarded host replaces the
    ``Host`` header (the caller still checks it against ``allowed_hosts``). A request from
    an untrusted peer is left alone::

        host = apply(scope, config.trusted_proxies)
    """
    peer = scope.get("client")
    if not peer or not is_trusted(peer[0], proxies):
        return None
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _NAMES:  # repeated fields are one list (RFC 9110, 5.3)
            headers[name] = headers[name] + b", " + value if name in headers else value
    if not headers:
        return None
    found = resolve((peer[0], peer[1]), headers, proxies)
    if found is None:
        return None
    scope["client"] = found.client
    if found.scheme is not None:
        scope["scheme"] = found.scheme
    if found.host is None:
        return None
    host = found.host.encode("latin-1", "replace")
    scope["headers"] = [(n, v) for n, v in scope["headers"] if n != b"host"] + [(b"host", host)]
    return host


_NAMES = frozenset(
    (
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
    )
)

__all__ = [
    "Forwarding",
    "Hop",
    "apply",
    "forwarded_hops",
    "is_trusted",
    "resolve",
    "x_forwarded_hops",
]
