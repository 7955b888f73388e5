"""PEP 562 lazy exports: a package names where each public name lives, and the module is
imported the first time the name is asked for."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


def lazy_getattr(package: str, locations: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` importing ``locations[name]`` on first use::

    __getattr__ = lazy_getattr(__name__, {"App": "kettle.app"})
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = locations.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # PERF: later lookups are plain module attributes
        return value

    return __getattr__
