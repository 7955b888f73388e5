"""The change history: one ``LogEntry`` row per add, change and delete made in the admin.

An entry keeps who (the user's id and name, so it outlives the account), when, what
(the model's table and the object's id and name at the time) and, for changes, each
field's old and new value as text::

    for entry in LogEntry.objects.filter(table_name="article", object_id="7"):
        entry.user_repr, entry.action, entry.changed_fields()
        # ("ann", "change", [Change("Title", "Old", "New")])

The table is ``kettle_admin_log``; ``kettle db makemigrations`` picks it up like any
model once an ``AdminSite`` exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from kettle.admin._display import object_repr, pk_text, short
from kettle.admin.forms import Change
from kettle.db import Model, QuerySet, fields

#: ``LogEntry.action`` of an object created in the admin.
ADD = "add"
#: ``LogEntry.action`` of an object changed in the admin.
CHANGE = "change"
#: ``LogEntry.action`` of an object deleted in the admin.
DELETE = "delete"
#: Each action with its label, as the history page shows it: ``dict(ACTIONS)["add"]``.
ACTIONS = ((ADD, "Added"), (CHANGE, "Changed"), (DELETE, "Deleted"))


class LogEntry(Model):
    """One admin action on one object (see the module docstring)::

    LogEntry.objects.filter(user_id=ann.id).order_by("-action_time")[:10]
    """

    #: When the action was taken (UTC).
    action_time: dt.datetime = fields.datetime(auto_now_add=True)
    #: The id of the user who acted; a plain column, not a foreign key, so the history
    #: outlives the account. None when no user was signed in (a script).
    user_id: int | None = fields.big_integer(null=True, index=True)
    #: The user's username (else ``str(user)``) at the time, shown when the account is gone.
    user_repr: str = fields.string(max_length=150, default="")
    #: The table of the object's model: ``"article"``.
    table_name: str = fields.string(max_length=100)
    #: The object's primary key, as text (``"7"``), so any key type fits.
    object_id: str = fields.string(max_length=64)
    #: The object's name at the time (``str(obj)``, cut to 200 characters), kept after
    #: it is renamed or deleted.
    object_repr: str = fields.string(max_length=200)
    #: What was done: ``ADD``, ``CHANGE`` or ``DELETE`` (``"add"``, ``"change"``,
    #: ``"delete"``); ``action_label`` gives the word to show.
    action: str = fields.string(max_length=10, choices=ACTIONS)
    #: ``[[field label, old text, new text], ...]``; see ``changed_fields()``.
    changes: list[Any] = fields.json(default=list)
    #: A note on the action, free text (``"Ran the action “Mark as published”."`` for a
    #: bulk action); empty for a plain add, change or delete.
    message: str = fields.text(default="")

    class Meta:
        table_name = "kettle_admin_log"
        ordering = ["-action_time", "-id"]
        indexes = [("table_name", "object_id")]

    def __str__(self) -> str:
        return f"{self.action_label} {self.object_repr}"

    @property
    def action_label(self) -> str:
        """``Added``, ``Changed`` or ``Deleted``."""
        return dict(ACTIONS).get(self.action, self.action.capitalize())

    def changed_fields(self) -> list[Change]:
        """The field changes recorded, as ``Change(field, old, new)`` tuples::

        entry.changed_fields()   # [Change("Status", "Draft", "Published")]
        """
        return [Change(*item) for item in self.changes or () if len(item) == 3]


def _who(user: Any) -> tuple[int | None, str]:
    user_id = getattr(user, "id", None)
    name = getattr(user, "username", None) or str(user)
    return (user_id if isinstance(user_id, int) else None), short(str(name), 150)


def entry_for(
    user: Any,
    obj: Model,
    action: str,
    changes: Sequence[Change] = (),
    message: str = "",
    *,
    repr_text: str | None = None,
) -> LogEntry:
    """A new, unsaved entry for ``user`` doing ``action`` to ``obj`` (saved objects only)::

    entry_for(request.user, article, CHANGE, [Change("Title", "a", "b")]).save()
    """
    user_id, user_repr = _who(user)
    return LogEntry(
        user_id=user_id,
        user_repr=user_repr,
        table_name=type(obj).__tablename__,
        object_id=pk_text(obj),
        object_repr=short(repr_text if repr_text is not None else object_repr(obj), 200),
        action=action,
        changes=[list(c) for c in changes],
        message=message,
    )


def log(
    user: Any,
    obj: Model,
    action: str,
    changes: Sequence[Change] = (),
    message: str = "",
    *,
    repr_text: str | None = None,
) -> LogEntry:
    """Record ``action`` on ``obj`` by ``user`` in the current unit of work::

    log(request.user, article, CHANGE, message="Published from the list.")
    """
    entry = entry_for(user, obj, action, changes, message, repr_text=repr_text)
    entry.save()
    return entry


def log_many(user: Any, objects: Iterable[tuple[Model, str]], action: str, message: str) -> int:
    """Record ``action`` on many objects at once (one INSERT per batch); takes
    ``(object, its name)`` pairs, so the names may be taken before a delete::

        log_many(request.user, [(a, object_repr(a)) for a in chosen], DELETE, "Bulk delete.")
    """
    entries = [entry_for(user, obj, action, (), message, repr_text=text) for obj, text in objects]
    if entries:
        LogEntry.objects.bulk_create(entries)
    return len(entries)


def history_of(table_name: str, object_id: str) -> QuerySet[LogEntry]:
    """The entries of one object, newest first::

    history_of("article", "7")[:50]
    """
    return LogEntry.objects.filter(table_name=table_name, object_id=object_id).order_by(
        "-action_time", "-id"
    )


__all__ = [
    "ACTIONS",
    "ADD",
    "CHANGE",
    "DELETE",
    "LogEntry",
    "entry_for",
    "history_of",
    "log",
    "log_many",
]
