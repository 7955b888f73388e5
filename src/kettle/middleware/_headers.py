"""Header helpers the middleware share."""

from __future__ import annotations

from kettle._types import RawHeaders


def merge_vary(headers: RawHeaders, token: bytes) -> RawHeaders:
    """``headers`` with ``token`` added to ``Vary`` (once, and not after ``*``).

    Headers are rebuilt, never edited in place, because an app may reuse one header list
    for every response it sends::

        merge_vary([(b"vary", b"Cookie")], b"Origin")  # [(b"vary", b"Cookie, Origin")]
    """
    tokens: list[bytes] = []
    merged: RawHeaders = []
    for name, value in headers:
        if name.lower() == b"vary":
            tokens.extend(t.strip() for t in value.split(b",") if t.strip())
        else:
            merged.append((name, value))
    lowered = {t.lower() for t in tokens}
    if token.lower() not in lowered and b"*" not in lowered:
        tokens.append(token)
    merged.append((b"vary", b", ".join(tokens)))
    return merged
