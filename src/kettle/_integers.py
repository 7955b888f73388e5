"""Whole numbers typed by a client: ASCII digits with an optional sign, nothing else.

Python's ``int()`` also takes other scripts' digits (``int("٣")`` is 3), spaces around
the number and underscores (``int("1_0")`` is 10), and ``str.isdigit()`` is true of
``"²"``, which ``int()`` then refuses. Request values (query, form, header, cookie) are
read with ``parse_int`` instead, so a number means the same to every part of Kettle.
"""

from __future__ import annotations

import re

#: What ``parse_int`` accepts.
INTEGER = re.compile(r"[-+]?[0-9]+")
#: Python refuses to parse longer numbers (``sys.get_int_max_str_digits``).
MAX_DIGITS = 4300


def parse_int(text: str) -> int:
    """``text`` as an int if it is ASCII digits with an optional sign, else ``ValueError``::

    parse_int("-42")   # -42
    parse_int("²")     # ValueError: '²' is not a whole number (ASCII digits 0-9)
    """
    if len(text) > MAX_DIGITS + 1 or INTEGER.fullmatch(text) is None:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"{shown!r} is not a whole number (ASCII digits 0-9, optional sign)")
    return int(text)


__all__ = ["INTEGER", "MAX_DIGITS", "parse_int"]
