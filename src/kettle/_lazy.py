"""PEP 562 lazy exports: a package names where each public name lives, and the module is
imported the first time the name is asked for."""

# PERF: no `from __future__ import annotations` and no importlib here: `import kettle`
# loads this module, and those two imports alone cost more than the rest of it.
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


def lazy_getattr(package: "str", locations: "Mapping[str, str]") -> "Callable[[str], Any]":
    """A module ``__getattr__`` importing ``locations[name]`` on first use::

    __getattr__ = lazy_getattr(__name__, {"App": "kettle.app"})
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: "str") -> "Any":
        module = locations.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        __import__(module)
        value = getattr(sys.modules[module], name)
        namespace[name] = value  # PERF: later lookups are plain module attributes
        return value

    return __getattr__
