"""kettle.db: models, queries and migrations on SQLAlchemy 2 and Alembic.

::

    from kettle.db import Count, Database, Model, fields

    class Article(Model):
        title: str = fields.string(max_length=200)

    db = Database(app)
    Article.objects.filter(title__icontains="kettle").count()
"""

from kettle.db import fields
from kettle.db._lazyload import RelationNotLoaded
from kettle.db._unavailable import DatabaseUnavailable
from kettle.db.aggregates import Avg, Count, Max, Min, Sum
from kettle.db.database import Database
from kettle.db.expressions import F, FieldError, Q
from kettle.db.models import Model, ModelValidationError, ProtectedError
from kettle.db.pagination import Page, Paginator
from kettle.db.query import DoesNotExist, Manager, MultipleObjectsReturned, QuerySet
from kettle.db.session import NoUnitOfWork, async_session, atomic, on_commit, sync_session

__all__ = [
    "Avg",
    "Count",
    "Database",
    "DatabaseUnavailable",
    "DoesNotExist",
    "F",
    "FieldError",
    "Manager",
    "Max",
    "Min",
    "Model",
    "ModelValidationError",
    "MultipleObjectsReturned",
    "NoUnitOfWork",
    "Page",
    "Paginator",
    "ProtectedError",
    "Q",
    "QuerySet",
    "RelationNotLoaded",
    "Sum",
    "async_session",
    "atomic",
    "fields",
    "on_commit",
    "sync_session",
]
