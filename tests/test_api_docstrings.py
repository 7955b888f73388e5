"""Every public name has a docstring: the API reference (docs/reference/) is made of them.

Public: a name in the ``__all__`` of a public module (no ``_`` part in its dotted path),
and the public methods, properties and class-level attributes (settings, options, fields)
of a public class. A method that implements a documented protocol or overrides a
documented method inherits its docstring (``inspect.getdoc`` looks through the class's
bases). An attribute is documented by a ``#:`` comment above it (or at the end of its
line), or by a string right after it: what Griffe reads for mkdocstrings, with
tools/griffe_kettle.py. An attribute that overrides a documented one inherits it.
"""

from __future__ import annotations

import importlib
import inspect
import types
from functools import cache
from pathlib import Path
from typing import Any

import griffe

ROOT = Path(__file__).resolve().parent.parent
_HOOKS = ROOT / "tools" / "mkdocs_hooks.py"


def public_modules() -> list[str]:
    spec = importlib.util.spec_from_file_location("kettle_mkdocs_hooks", _HOOKS)
    assert spec is not None
    assert spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    return list(hooks.public_modules())


@cache
def package() -> griffe.Object:
    """Kettle as Griffe (and so the API reference) reads it."""
    extensions = griffe.load_extensions(str(ROOT / "tools" / "griffe_kettle.py"))
    loaded = griffe.load("kettle", search_paths=[str(ROOT / "src")], extensions=extensions)
    assert isinstance(loaded, griffe.Object)
    return loaded


def static(path: str) -> griffe.Object | None:
    """The Griffe object at a dotted path (``kettle.auth.core.AuthOptions``), if any."""
    try:
        found = package()[path.removeprefix("kettle.")] if path != "kettle" else package()
    except KeyError:
        return None
    return found.final_target if found.is_alias else found  # type: ignore[return-value]


def _is_method(raw: object) -> bool:
    return isinstance(raw, (types.FunctionType, property, classmethod, staticmethod))


def _attribute_documented(cls: type, name: str) -> bool:
    for base in cls.__mro__:
        if name in vars(base) and base.__module__.startswith("kettle"):
            found = static(f"{base.__module__}.{base.__qualname__}.{name}")
            if found is not None and found.docstring is not None:
                return True
    return False


def _class_problems(cls: type, where: str) -> list[str]:
    problems = []
    for name, raw in vars(cls).items():
        if name.startswith("_"):
            continue
        if _is_method(raw):
            if not inspect.getdoc(getattr(cls, name, raw)) and not inspect.getdoc(raw):
                problems.append(f"{where}.{name}")
            continue
        if isinstance(raw, type):
            continue
        # A class-level attribute: a setting, an option, a field, a column.
        member = static(f"{cls.__module__}.{cls.__qualname__}")
        if member is None or name not in member.members:
            continue  # made at run time (SQLAlchemy's columns of a dataclass field)
        if not _attribute_documented(cls, name):
            problems.append(f"{where}.{name} (attribute)")
    return problems


def undocumented() -> list[str]:
    """Every public name and member without a docstring, as ``module.name``."""
    problems: list[str] = []
    seen: dict[object, Any] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        if not inspect.getdoc(module):
            problems.append(f"{module_name} (module)")
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            key = (id(value), name)
            if isinstance(value, types.ModuleType) or key in seen:
                continue
            seen[key] = value
            where = f"{module_name}.{name}"
            if inspect.isclass(value) or inspect.isfunction(value) or callable(value):
                plain = inspect.isclass(value) or inspect.isfunction(value)
                if plain and not inspect.getdoc(value):
                    problems.append(where)
                if inspect.isclass(value) and value.__module__.startswith("kettle"):
                    problems += _class_problems(value, where)
                if getattr(value, "__name__", name) == name:
                    continue
            # Data, a type alias, or a second name for an object (Manager = QuerySet).
            found = static(f"{module_name}.{name}")
            if found is not None and found.is_attribute and found.docstring is None:
                problems.append(f"{where} (attribute)")
    return sorted(set(problems))


def test_every_public_name_has_a_docstring() -> None:
    missing = undocumented()
    assert not missing, (
        f"{len(missing)} public names have no docstring (write one, with a short example "
        "where it helps; an attribute takes a `#:` comment above it):\n  " + "\n  ".join(missing)
    )
