"""Model factories: objects for tests with only the fields a test cares about spelled out.

A ``Factory`` names a model and a value per field: a plain value, a ``Sequence`` (a new
value per object), a ``SubFactory`` (a related object, made by its own factory) or a
``Lazy`` value computed from the others. ``build`` makes unsaved objects; ``create``
saves them in the current unit of work (``def`` code), ``acreate`` in async code::

    class AuthorFactory(Factory[Author]):
        model = Author
        name = Sequence(lambda n: f"Author {n}")

    class ArticleFactory(Factory[Article]):
        model = Article
        title = "Kettle 1.0 released"
        author = SubFactory(AuthorFactory)
        slug = Lazy(lambda values: values["title"].lower().replace(" ", "-"))

    with db.session():
        article = ArticleFactory.create(title="Hello")     # and its author
        ArticleFactory.create_batch(3, author=article.author)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar, cast

from kettle.db.models import Model

M = TypeVar("M", bound=Model)


class Sequence:
    """A value made from a counter, different for each object: ``fn(n)`` with n = 1, 2...

    ::

        username = Sequence(lambda n: f"user{n}")
    """

    def __init__(self, fn: Callable[[int], Any]) -> None:
        self.fn = fn


class SubFactory:
    """A related object, made by ``factory`` (built by ``build``, saved by ``create``);
    keyword arguments go to that factory::

        author = SubFactory(AuthorFactory, name="Ann")
    """

    def __init__(self, factory: type[Factory[Any]], **overrides: Any) -> None:
        self.factory = factory
        self.overrides = overrides


class Lazy:
    """A value computed from the other values (those given, then the declared ones; Lazy
    values are computed last, in order, so each sees the Lazy values before it)::

    email = Lazy(lambda values: f"{values['username']}@example.org")
    """

    def __init__(self, fn: Callable[[dict[str, Any]], Any]) -> None:
        self.fn = fn


class Factory(Generic[M]):
    """Makes ``model`` objects (see the module docstring). Keyword arguments given to
    ``build``/``create`` replace the declared values; a field declared nowhere keeps the
    model's default."""

    #: The model it makes (a ``ClassVar`` cannot name ``M``: each object is cast to it).
    model: ClassVar[type[Model]]
    _declarations: ClassVar[dict[str, Any]] = {}
    _counter: ClassVar[itertools.count[int]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited: dict[str, Any] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update(getattr(base, "_declarations", {}))
        own = {
            name: value
            for name, value in vars(cls).items()
            if not name.startswith("_") and name != "model" and not isinstance(value, classmethod)
        }
        cls._declarations = {**inherited, **own}
        cls._counter = itertools.count(1)

    @classmethod
    def _values(cls, overrides: dict[str, Any], create: bool) -> dict[str, Any]:
        number = next(cls._counter)
        values = dict(overrides)
        lazy = []
        for name, declared in cls._declarations.items():
            if name in overrides:
                continue
            if isinstance(declared, Sequence):
                values[name] = declared.fn(number)
            elif isinstance(declared, SubFactory):
                make = declared.factory.create if create else declared.factory.build
                values[name] = make(**declared.overrides)
            elif isinstance(declared, Lazy):
                lazy.append((name, declared))
            else:
                values[name] = declared
        # Lazy values last, in their order: they see every other value.
        for name, declared in lazy:
            values[name] = declared.fn(values)
        return values

    @classmethod
    def build(cls, **overrides: Any) -> M:
        """A new, unsaved object (its sub-factory objects unsaved too)::

        draft = ArticleFactory.build(title="Draft")
        """
        obj = cast(M, cls.model(**cls._values(overrides, create=False)))
        return obj

    @classmethod
    def create(cls, **overrides: Any) -> M:
        """A new object saved in the current unit of work (``with db.session():``, a
        request, or the ``db`` fixture's); sub-factory objects are saved first::

        with db.session():
            article = ArticleFactory.create()
        """
        obj = cast(M, cls.model(**cls._values(overrides, create=True)))
        obj.save()
        return obj

    @classmethod
    async def acreate(cls, **overrides: Any) -> M:
        """``create`` for async code (sub-factory objects are built and saved with it)::

        async with db.async_session():
            article = await ArticleFactory.acreate()
        """
        obj = cast(M, cls.model(**cls._values(overrides, create=False)))
        await obj.asave()
        return obj

    @classmethod
    def build_batch(cls, size: int, **overrides: Any) -> list[M]:
        """``size`` unsaved objects: ``AuthorFactory.build_batch(3)``."""
        return [cls.build(**overrides) for _ in range(size)]

    @classmethod
    def create_batch(cls, size: int, **overrides: Any) -> list[M]:
        """``size`` saved objects: ``ArticleFactory.create_batch(3, author=ann)``."""
        return [cls.create(**overrides) for _ in range(size)]

    @classmethod
    async def acreate_batch(cls, size: int, **overrides: Any) -> list[M]:
        """``create_batch`` for async code."""
        return [await cls.acreate(**overrides) for _ in range(size)]


__all__ = ["Factory", "Lazy", "Sequence", "SubFactory"]
