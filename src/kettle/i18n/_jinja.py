"""Templates translated when they compile: one compiled copy per language.

Kettle's Jinja2 environments are ``Environment``s of this module. A template asked for
while a language is active is compiled (once) by an overlay of the environment bound to
that language's catalogue, which writes every constant message into the code: ``{%
trans %}Edit{% endtrans %}`` and ``_("Edit")`` become the text ``Modifier``. A French
page then costs what an untranslated one does. Messages with variables or a plural
(``{% trans name=user %}``, ``ngettext(..., n)``) stay calls, made at render time.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from kettle.i18n._gettext import ACTIVE, UNTRANSLATED, ngettext

if TYPE_CHECKING:
    from kettle.i18n._gettext import Active, Catalogue

# The names Kettle's environments give the gettext functions (jinja2.ext.i18n's).
_GETTEXT = frozenset({"_", "gettext"})
#: The global that folded ``ngettext`` calls call: the plain function, no wrapper.
_NGETTEXT = "_kettle_ngettext"


class _Fold(NodeTransformer):
    """Translates the constant messages of a template as it compiles.

    ``gettext("constant", **values)`` and ``pgettext("ctx", "constant", **values)`` become
    the translation (``% values`` when there are values, escaped as Jinja2's new-style
    gettext escapes them); ``ngettext`` becomes a plain call, without new-style gettext's
    context-passing wrapper; ``current_language()`` becomes the language.
    """

    def __init__(self, catalogue: Catalogue, language: str) -> None:
        self.catalogue = catalogue
        self.language = language

    def visit_Call(self, call: nodes.Call) -> nodes.Node:
        node = self.generic_visit(call)
        assert isinstance(node, nodes.Call)
        func = node.node
        if not isinstance(func, nodes.Name) or node.dyn_args or node.dyn_kwargs:
            return node
        args = node.args
        if func.name == "current_language" and not args and not node.kwargs:
            return nodes.Const(self.language, lineno=node.lineno)
        texts = [a.value for a in args if isinstance(a, nodes.Const) and isinstance(a.value, str)]
        if func.name in _GETTEXT and len(args) == len(texts) == 1:
            text = self.catalogue.gettext(texts[0])
        elif func.name == "pgettext" and len(args) == len(texts) == 2:
            text = self.catalogue.pgettext(texts[0], texts[1])
        elif func.name == "ngettext" and len(args) == 3 and len(texts) == 2:
            count = args[2]
            call = nodes.Call(nodes.Name(_NGETTEXT, "load"), args, [], None, None)
            pairs = [("num", count), *((k.key, k.value) for k in node.kwargs)]
            return self._filled(nodes.MarkSafeIfAutoescape(call), pairs, node.lineno)
        else:
            return node
        pairs = [(k.key, k.value) for k in node.kwargs]
        if not pairs:
            try:
                # NOTE: what Jinja2's new-style gettext does to every message.
                text %= {}
            except (TypeError, ValueError, KeyError):
                return node
        return self._filled(nodes.MarkSafeIfAutoescape(nodes.Const(text)), pairs, node.lineno)

    @staticmethod
    def _filled(
        message: nodes.Expr, pairs: list[tuple[str, nodes.Expr]], lineno: int
    ) -> nodes.Expr:
        if not pairs:
            message.set_lineno(lineno)
            return message
        items = [nodes.Pair(nodes.Const(key), value) for key, value in dict(pairs).items()]
        return nodes.Mod(message, nodes.Dict(items), lineno=lineno)


class Environment(jinja2.Environment):
    """A Jinja2 environment that compiles a copy of each template per language.

    ``env.get_template(name)`` while French is active returns the French copy; with no
    language active (no ``I18n``), the copy with the source text folded in.
    """

    #: The catalogue this environment's templates are compiled with, and its language.
    catalogue: Catalogue = UNTRANSLATED
    language = "en"
    #: The environment the per-language copies are made from (None: this one).
    _source: Environment | None = None
    #: catalogue -> the overlay that compiles with it (on the source environment only).
    _by_catalogue: dict[Any, Environment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_catalogue = {}
        self.globals[_NGETTEXT] = ngettext

    def overlay(self, **options: Any) -> Environment:  # type: ignore[override]
        """An overlay (``jinja2.Environment.overlay``) with per-language copies of its own."""
        env: Environment = super().overlay(**options)
        env._by_catalogue = {}
        env._source = None
        return env

    def for_catalogue(self, active: Active) -> Environment:
        """The environment compiling this one's templates in the language ``active``."""
        source = self._source or self
        catalogue = active.catalogue
        if catalogue is source.catalogue:
            return source
        env = source._by_catalogue.get(catalogue)
        if env is None:
            # NOTE: a cache of its own (overlay() would copy the source's, whose templates
            # are compiled in another language) and no bytecode cache, whose keys do not
            # know the language.
            env = jinja2.Environment.overlay(source, cache_size=400, bytecode_cache=None)
            assert isinstance(env, Environment)
            env.catalogue = catalogue
            env.language = active.code or "en"
            env._source = source
            source._by_catalogue[catalogue] = env
        return env

    def _load_template(
        self, name: str, globals: MutableMapping[str, Any] | None
    ) -> jinja2.Template:
        # PERF: one context-variable read per template asked for (includes and
        # extends included); the rendering itself then looks no message up.
        active = ACTIVE.get()
        if active.catalogue is not self.catalogue:
            return self.for_catalogue(active)._load_template(name, globals)
        return super()._load_template(name, globals)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        folded: nodes.Template = _Fold(self.catalogue, self.language).visit(tree)
        return folded


__all__ = ["Environment"]
