"""``TestResponse``: an httpx response that also says which templates the app rendered."""

from __future__ import annotations

from typing import Any

import httpx

#: One template the app rendered: its name and the context it got.
Rendered = tuple[str, dict[str, Any]]


class TestResponse(httpx.Response):
    """What the test clients return: an ``httpx.Response`` plus ``template`` and
    ``context``, the page template the app rendered and the values it rendered it with::

        response = client.get("/articles/7")
        assert response.template == "article.html"
        assert response.context["article"].title == "Kettle 1.0"

    Recorded only for requests of a test client (see ``kettle._types.TESTING_EXTENSION``).
    """

    __test__ = False  # not a pytest test class
    #: ``(name, context)`` of every template rendered, in order.
    rendered: list[Rendered] = []  # replaced per response, never mutated

    @property
    def templates(self) -> list[str]:
        """The names of every template rendered for this response, in order::

        assert response.templates == ["article.html"]
        """
        return [name for name, _ in self.rendered]

    @property
    def contexts(self) -> list[dict[str, Any]]:
        """The context of each template in ``templates``::

        assert response.contexts[0]["article"].id == 7
        """
        return [context for _, context in self.rendered]

    @property
    def template(self) -> str | None:
        """The name of the template rendered (None if the response is no page), e.g.
        ``"article.html"``; when several were, use ``templates``."""
        if not self.rendered:
            return None
        return self._only()[0]

    @property
    def context(self) -> dict[str, Any]:
        """The context the page's template got (its ``render()`` arguments and
        ``request``); when several templates were rendered, use ``contexts``::

        assert response.context["errors"] == {"text": ["This field is required."]}
        """
        if not self.rendered:
            raise AttributeError(
                f"{self._what()} rendered no template, so it has no context (it was "
                f"{self.headers.get('content-type', 'no content')}). Check the route returns "
                "render(...), or read response.json() or response.text."
            )
        return self._only()[1]

    def _only(self) -> Rendered:
        if len(self.rendered) > 1:
            raise AttributeError(
                f"{self._what()} rendered {len(self.rendered)} templates "
                f"({', '.join(self.templates)}): read response.templates and "
                "response.contexts instead."
            )
        return self.rendered[0]

    def _what(self) -> str:
        request = self.request
        return f"{request.method} {request.url.raw_path.decode()}"


__all__ = ["Rendered", "TestResponse"]
