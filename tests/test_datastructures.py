"""MultiDict and Headers: the read-only multi-value mappings."""

import pytest

from kettle.datastructures import Headers, MultiDict


def test_multidict_last_value_wins_and_getlist_keeps_all() -> None:
    q = MultiDict([("tag", "a"), ("page", "1"), ("tag", "b")])
    assert q["tag"] == "b"
    assert q.getlist("tag") == ["a", "b"]
    assert q.getlist("nope") == []
    assert q.get("nope") is None
    assert q.get("page") == "1"
    assert list(q) == ["tag", "page"]
    assert len(q) == 2
    assert "page" in q
    assert "nope" not in q
    assert dict(q) == {"tag": "b", "page": "1"}
    assert q.multi_items() == [("tag", "a"), ("page", "1"), ("tag", "b")]
    assert repr(q) == "MultiDict([('tag', 'a'), ('page', '1'), ('tag', 'b')])"
    with pytest.raises(KeyError):
        q["nope"]


def test_multidict_empty() -> None:
    empty: MultiDict[str] = MultiDict()
    assert len(empty) == 0
    assert empty.multi_items() == []
    assert empty == {}


def test_multi_items_is_a_copy() -> None:
    q = MultiDict([("a", "1")])
    q.multi_items().append(("a", "2"))
    assert q.getlist("a") == ["1"]


def test_multidict_does_not_alias_the_list_it_was_built_from() -> None:
    items = [("a", "1")]
    q = MultiDict(items)
    items.append(("a", "2"))
    assert q.getlist("a") == [q["a"]] == ["1"]


def test_headers_are_case_insensitive() -> None:
    h = Headers([(b"content-type", b"text/html"), (b"X-Custom", b"yes")])
    assert h["Content-Type"] == "text/html"
    assert h["CONTENT-TYPE"] == "text/html"
    assert h["x-custom"] == "yes"
    assert "X-CUSTOM" in h
    assert 42 not in h
    assert h.get("Missing") is None
    assert h.get("Missing", "fallback") == "fallback"
    assert sorted(h) == ["content-type", "x-custom"]
    assert len(h) == 2
    with pytest.raises(KeyError):
        h["missing"]


def test_repeated_headers_are_joined_and_getlist_keeps_them_apart() -> None:
    h = Headers(
        [
            (b"accept", b"text/html"),
            (b"Accept", b"application/json"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ]
    )
    assert h["accept"] == "text/html, application/json"
    assert h["cookie"] == "a=1; b=2"
    assert h.getlist("ACCEPT") == ["text/html", "application/json"]
    assert h.getlist("nope") == []


def test_headers_decode_latin1_and_keep_raw() -> None:
    raw = [(b"x-name", "café".encode("latin-1"))]
    h = Headers(raw)
    assert h["x-name"] == "café"
    assert h.raw is raw
    assert repr(h) == "Headers([(b'x-name', b'caf\\xe9')])"
