"""What the page tests share: the CSRF token of a rendered form, and the words a page
shows (to find text left untranslated)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a rendered page."""
    match = _CSRF.search(html)
    assert match is not None, f"no csrf_token field in the page:\n{html[:800]}"
    return match.group(1)


class _Words(HTMLParser):
    """The words a person reads or hears on a page: text outside <style>, <script>,
    <svg> and <title>, and the aria-label, title and placeholder attributes, one piece
    per text node."""

    HIDDEN = frozenset({"style", "script", "svg", "title"})

    def __init__(self) -> None:
        super().__init__()
        self.pieces: set[str] = set()
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in self.HIDDEN
        self.pieces.update(
            v.strip() for k, v in attrs if k in ("aria-label", "title", "placeholder") and v
        )

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in self.HIDDEN

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        # Words have lower-case letters; keys, codes and "UTC" do not.
        if not self._hidden and any(c.islower() for c in text):
            self.pieces.add(text)


def words_of(html: str) -> set[str]:
    """The pieces of text a reader meets on the page ``html`` (see ``_Words``)."""
    parser = _Words()
    parser.feed(html)
    return parser.pieces
