"""What the page tests share: the CSRF token of a rendered form."""

from __future__ import annotations

import re

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a rendered page."""
    match = _CSRF.search(html)
    assert match is not None, f"no csrf_token field in the page:\n{html[:800]}"
    return match.group(1)
