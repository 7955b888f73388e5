"""Bulk actions: functions run on the rows ticked in a list page.

An action takes the model admin, the request and a QuerySet of the chosen rows. It may
return nothing (the admin says how many rows it ran on), a message to show, or a
response to send instead (a CSV download, a page of its own)::

    @action(description="Mark as published")
    def publish(admin, request, queryset):
        count = queryset.update(status=Status.PUBLISHED)
        return f"{count} articles published."

    @site.register(Article)
    class ArticleAdmin(ModelAdmin):
        actions = [publish]

Every list offers "Delete selected" too, to users who may delete; it asks for a
confirmation that lists what the delete takes with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from kettle.i18n._gettext import gettext_noop as N_

ActionFunction = Callable[..., Any]
F = TypeVar("F", bound=ActionFunction)

#: The name of the built-in action that deletes the chosen rows after a confirmation.
DELETE_SELECTED = "delete_selected"


@dataclass(frozen=True, slots=True)
class Action:
    """A bulk action as the admin runs it: ``Action("publish", "Mark as published", fn)``.

    ``permissions`` names what the user needs on the model (``view``, ``add``,
    ``change``, ``delete``), all of them, to be offered the action.
    """

    #: The value the list page's action menu posts (``"publish"``); unique per model
    #: admin. It defaults to the function's name.
    name: str
    #: The label in the action menu: ``"Mark as published"``.
    description: str
    #: What runs: ``function(admin, request, queryset)`` with the chosen rows; it returns
    #: None, a message to show, or a response to send instead.
    function: ActionFunction
    #: The permissions on the model the user needs, all of them, to be offered the
    #: action: ``("change",)`` by default, ``("delete",)`` for a destructive one.
    permissions: tuple[str, ...] = ("change",)


@overload
def action(function: F, /) -> F: ...
@overload
def action(
    *,
    description: str | None = None,
    permissions: Sequence[str] = ("change",),
    name: str | None = None,
) -> Callable[[F], F]: ...
def action(
    function: F | None = None,
    /,
    *,
    description: str | None = None,
    permissions: Sequence[str] = ("change",),
    name: str | None = None,
) -> F | Callable[[F], F]:
    """Describe a function (or a ``ModelAdmin`` method) as a bulk action::

    @action(description="Archive", permissions=["change"])
    def archive(admin, request, queryset):
        queryset.update(archived=True)
    """

    def decorate(fn: F) -> F:
        label = description or fn.__name__.replace("_", " ").capitalize()
        fn.__kettle_admin_action__ = Action(  # type: ignore[attr-defined]
            name or fn.__name__, label, fn, tuple(permissions)
        )
        return fn

    return decorate(function) if function is not None else decorate


def as_action(item: Any, owner: Any = None) -> Action:
    """The ``Action`` of a decorated function, a plain function or, with ``owner``, the
    name of one of its methods::

        as_action("publish", article_admin)
    """
    if isinstance(item, Action):
        return item
    if isinstance(item, str):
        method = getattr(owner, item, None) if owner is not None else None
        if method is None or not callable(method):
            raise LookupError(f"{type(owner).__name__} has no method {item!r} to use as an action.")
        found = as_action(method)
        # A method is called as method(request, queryset): give it the admin first anyway.
        return Action(
            found.name,
            found.description,
            lambda admin, request, queryset: method(request, queryset),
            found.permissions,
        )
    described = getattr(item, "__kettle_admin_action__", None)
    if isinstance(described, Action):
        return described
    if callable(item):
        name = getattr(item, "__name__", "action")
        return Action(name, name.replace("_", " ").capitalize(), item)
    raise TypeError(f"{item!r} is not an action: give a function, a method name or an Action.")


def _delete_selected(admin: Any, request: Any, queryset: Any) -> None:
    """Placeholder: the admin's views handle this action (it needs a confirmation)."""
    raise NotImplementedError  # pragma: no cover - never called, the views intercept it


#: The built-in "Delete selected" action (its description is translated where the list
#: shows it: ``gettext(act.description)``).
delete_selected = Action(DELETE_SELECTED, N_("Delete selected"), _delete_selected, ("delete",))


__all__ = ["DELETE_SELECTED", "Action", "action", "as_action", "delete_selected"]
