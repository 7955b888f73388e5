"""kettle.admin: a staff-only back office for your models, server-rendered, on any app.

::

    from kettle.admin import AdminSite, ModelAdmin

    admin = AdminSite(app)          # needs Database(app) and Auth(app)
    admin.register(Tag)

    @admin.register(Article)
    class ArticleAdmin(ModelAdmin):
        list_display = ["title", "author", "created"]
        search_fields = ["title"]
        list_filter = ["status", "created"]

Lists with search, filters, sorting and pages; forms generated from the columns with
the model's validation; inline related rows; deletes that show what cascades; bulk
actions; a history of every change. Each page checks the user's model permissions.
``ApiTokenAdmin`` shows kettle.auth's API tokens: ``admin.register(ApiToken, ApiTokenAdmin)``.
"""

from kettle.admin.actions import Action, action
from kettle.admin.api_tokens import ApiTokenAdmin
from kettle.admin.history import LogEntry
from kettle.admin.inlines import InlineModelAdmin, TabularInline
from kettle.admin.options import ModelAdmin
from kettle.admin.site import AdminSite

__all__ = [
    "Action",
    "AdminSite",
    "ApiTokenAdmin",
    "InlineModelAdmin",
    "LogEntry",
    "ModelAdmin",
    "TabularInline",
    "action",
]
