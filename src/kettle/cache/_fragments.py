"""``{% cache key, ttl %}...{% endcache %}``: parts of a template kept in the cache.

``Cache(app)`` adds the tag to the app's template environment at start-up. The key is
any expression (a string, or a tuple that names what the fragment shows); ``ttl`` is in
seconds and defaults to the cache's. A missing fragment is rendered and stored; there is
no stampede lock here (templates render synchronously, also in ``async def`` handlers,
where waiting for another worker would stall the event loop), so keep fragments cheap
enough to render twice::

    {% cache ("sidebar", category.id), 60 %}
      {% for article in popular(category) %}<li>{{ article.title }}</li>{% endfor %}
    {% endcache %}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jinja2 import nodes
from jinja2.ext import Extension
from markupsafe import Markup

if TYPE_CHECKING:
    from jinja2.parser import Parser

    from kettle.app import App
    from kettle.cache._cache import Cache


class FragmentCacheExtension(Extension):
    """The ``{% cache %}`` tag; it reads the cache from ``environment.kettle_cache``::

    env.add_extension(FragmentCacheExtension)
    env.extend(kettle_cache=cache)
    """

    #: The tag this extension reads: ``{% cache %}``.
    tags = {"cache"}

    def parse(self, parser: Parser) -> nodes.Node:
        """Read ``{% cache key[, ttl] %}`` and the body up to ``{% endcache %}``."""
        lineno = next(parser.stream).lineno
        args = [parser.parse_expression()]
        args.append(
            parser.parse_expression() if parser.stream.skip_if("comma") else nodes.Const(None)
        )
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", args), [], [], body).set_lineno(lineno)

    def _render(self, key: Any, ttl: float | None, caller: Callable[[], str]) -> Markup:
        cache: Cache = self.environment.kettle_cache  # type: ignore[attr-defined]
        name = "fragment:" + (key if isinstance(key, str) else repr(key))
        html = cache.get(name)
        if html is None:
            html = str(caller())
            if ttl is None:
                cache.set(name, html)
            else:
                cache.set(name, html, ttl)
        return Markup(html)


def install(app: App, cache: Cache) -> None:
    """Add the ``{% cache %}`` tag to ``app``'s template environment (at start-up)."""
    env = app.templates.environment()
    env.add_extension(FragmentCacheExtension)
    env.extend(kettle_cache=cache)
