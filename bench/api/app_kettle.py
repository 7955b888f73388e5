"""Kettle: the articles published as a model resource, as docs/api.md teaches.

`GET /api/articles` lists 20 articles a page (by id) with their authors nested, and
`GET /api/articles/<id>` answers one. `Database(app)` reads DATABASE_URL.
"""

from kettle_models import Article

from kettle import App
from kettle.db import Database
from kettle.resources import Resource

app = App()
db = Database(app)


class ArticleResource(Resource):
    model = Article
    fields = ("id", "title", "url", "score", "created", "author")
    nested = {"author": ("id", "username")}
    default_ordering = ("id",)
    page_size = 20
    max_page_size = 100
    actions = ("list", "retrieve")


app.resource("/api/articles", ArticleResource)
