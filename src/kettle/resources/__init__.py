"""kettle.resources: publish a kettle.db model as a JSON resource, declared in one class.

::

    from kettle.resources import Resource

    class ArticleResource(Resource):
        model = Article
        fields = ("id", "title", "score", "author", "author_id")
        nested = {"author": ("id", "username")}
        filters = {"score": ("gte",)}
        ordering = ("score", "created")

    app.resource("/api/articles", ArticleResource)

List (filters, search, ordering, page or cursor pagination, ``?fields=``), retrieve
(ETag, 304), create (201 + Location), replace (PUT), update (PATCH) and delete (204),
with kettle.auth's model permissions and ``If-Match`` against lost updates. See
docs/api.md.
"""

from kettle.resources.resource import ACTIONS, Action, Resource

__all__ = ["ACTIONS", "Action", "Resource"]
