"""A task's arguments: checked against its signature at enqueue, encoded as JSON-ready
data, and converted back to the annotated types in the worker.

The parameters' types are read once, on first use (so annotations may name classes
defined after the task), and every argument is checked with ``msgspec.convert``::

    signature = Signature("app.add", add)
    signature.encode((1,), {"b": 2})        # ([1], {"b": 2})
    signature.encode(("one",), {})          # TaskArgumentError naming 'a'
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import msgspec

from kettle.exceptions import ConfigurationError


class TaskArgumentError(TypeError, ValueError):
    """An argument does not fit the task's signature; raised by ``enqueue`` in the caller.

    Both a ``TypeError`` and a ``ValueError``::

        try:
            send_welcome.enqueue("forty-two")
        except TaskArgumentError as error:
            print(error)   # task 'app.send_welcome', parameter 'user_id': Expected `int`, ...
    """


class Signature:
    """A task's parameters and their types, read once (on first use, so annotations may
    name classes defined after the task)."""

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self.name = name
        self.fn = fn

    @functools.cached_property
    def _plan(self) -> tuple[inspect.Signature, dict[str, tuple[Any, inspect._ParameterKind]]]:
        signature = inspect.signature(self.fn)
        try:
            hints = typing.get_type_hints(self.fn)
        except Exception as error:
            raise ConfigurationError(
                f"Cannot read the type annotations of task {self.name!r}: {error}. "
                "Import the types the annotations name in the task's module."
            ) from None
        plan = {
            name: (hints.get(name, Any), parameter.kind)
            for name, parameter in signature.parameters.items()
        }
        return signature, plan

    def encode(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """Check ``args``/``kwargs`` and turn them into JSON-compatible values."""
        signature, plan = self._plan
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TaskArgumentError(f"task {self.name!r}: {error}") from None
        for name, value in bound.arguments.items():
            hint, kind = plan[name]
            values = _each(value, kind)
            for item in values:
                try:
                    msgspec.convert(item, hint, from_attributes=True)
                except msgspec.ValidationError as error:
                    raise TaskArgumentError(
                        f"task {self.name!r}, parameter {name!r}: {error}"
                    ) from None
        try:
            return (
                [msgspec.to_builtins(v) for v in bound.args],
                {k: msgspec.to_builtins(v) for k, v in bound.kwargs.items()},
            )
        except TypeError as error:
            raise TaskArgumentError(
                f"task {self.name!r}: an argument cannot be sent as JSON ({error}). "
                "Pass plain data (numbers, strings, lists, dicts, msgspec Structs, "
                "dataclasses, datetimes), such as an id instead of a model instance."
            ) from None

    @functools.cached_property
    def _positional(self) -> tuple[int, list[tuple[str, Any]]] | None:
        # (how many are required, [(name, type)]) when every parameter may be passed by
        # position, as with most tasks; None otherwise.
        signature, plan = self._plan
        parameters = signature.parameters.values()
        if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters):
            return None
        required = sum(p.default is p.empty for p in parameters)
        return required, [(name, hint) for name, (hint, _) in plan.items()]

    def decode(self, args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """The arguments ``encode`` made, converted back to the annotated types."""
        positional = self._positional
        if positional is not None and not kwargs and positional[0] <= len(args):
            # PERF: arguments sent by position (enqueue sends them so) need no bind();
            # this runs once per task in the worker.
            types = positional[1]
            if len(args) <= len(types):
                converted = []
                for value, (name, hint) in zip(args, types, strict=False):
                    try:
                        converted.append(msgspec.convert(value, hint, strict=False))
                    except msgspec.ValidationError as error:
                        raise ValueError(f"parameter {name!r}: {error}") from None
                return converted, {}
        signature, plan = self._plan
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(str(error)) from None
        for name, value in list(bound.arguments.items()):
            hint, kind = plan[name]
            try:
                if kind is inspect.Parameter.VAR_POSITIONAL:
                    bound.arguments[name] = tuple(
                        msgspec.convert(v, hint, strict=False) for v in value
                    )
                elif kind is inspect.Parameter.VAR_KEYWORD:
                    bound.arguments[name] = {
                        k: msgspec.convert(v, hint, strict=False) for k, v in value.items()
                    }
                else:
                    bound.arguments[name] = msgspec.convert(value, hint, strict=False)
            except msgspec.ValidationError as error:
                raise ValueError(f"parameter {name!r}: {error}") from None
        return list(bound.args), dict(bound.kwargs)


def _each(value: Any, kind: inspect._ParameterKind) -> list[Any]:
    if kind is inspect.Parameter.VAR_POSITIONAL:
        return list(value)
    if kind is inspect.Parameter.VAR_KEYWORD:
        return list(value.values())
    return [value]


__all__ = ["Signature", "TaskArgumentError"]
