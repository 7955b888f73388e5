"""The admin's pages, as plain functions on the blocking ORM.

Each takes ``(site, model_admin, request, form)`` (``form`` is the parsed POST body, or
None for a GET) plus the URL's parameters, after ``AdminSite`` has let the user in. Every
view checks the model permission it needs; a POST that validates redirects (303), one that
does not renders the page again with the errors, status 400::

    views.change(site, article_admin, request, form, id="7")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from kettle.admin import history as log
from kettle.admin._deletion import DeletionPlan, plan_deletion
from kettle.admin._display import pk_text
from kettle.admin.actions import DELETE_SELECTED
from kettle.admin.changelist import ChangeList, checked_query, page_number, search_condition
from kettle.admin.forms import Change, ModelForm
from kettle.admin.inlines import InlineFormSet
from kettle.db import FieldError, ModelValidationError, ProtectedError
from kettle.db.session import sync_session
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import gettext as _
from kettle.responses.base import JSONResponse, RedirectResponse, Response
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.admin.options import ModelAdmin
    from kettle.admin.site import AdminSite
    from kettle.forms import FormData
    from kettle.requests import Request

#: Rows a bulk action takes at most in one request.
MAX_SELECTED = 1000


def _forbidden(message: str, admin: ModelAdmin) -> HTTPException:
    """A 403 saying what may not be done: ``message`` names the model as ``%(name)s`` or
    ``%(names)s`` (its plural)."""
    return HTTPException(403, message % {"name": admin.name, "names": admin.name_plural})


def _back(request: Request) -> RedirectResponse:
    """Redirect to the page that was posted to, with its query string."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    return RedirectResponse(request.path + ("?" + query if query else ""), status=303)


def _find(admin: ModelAdmin, request: Request, id: str) -> Any:
    """The object with primary key ``id`` (text from the URL), or None when no row has
    it or it is no valid key (not a number, beyond the column's range, a NUL inside)."""
    try:
        return admin.get_queryset(request).filter(pk=id).first()
    except FieldError:
        return None


def _get_object(admin: ModelAdmin, request: Request, id: str) -> Any:
    obj = _find(admin, request, id)
    if obj is None:
        message = _("There is no %(name)s with id %(id)s (it may have been deleted).")
        raise HTTPException(404, message % {"name": admin.name, "id": repr(id)})
    return obj


# --- the dashboard ------------------------------------------------------------------------------
def index(site: AdminSite, _: None, request: Request, form: FormData | None) -> Response:
    """``GET /admin/``: the models the user may view, and their own latest actions."""
    user = site.user(request)
    user_id = getattr(user, "id", None)
    recent = list(log.LogEntry.objects.filter(user_id=user_id)[:10]) if user_id else []
    links = {}
    for entry in recent:
        try:
            model_admin = site.by_slug(entry.table_name)
        except HTTPException:
            continue
        if entry.action != log.DELETE:
            links[entry.id] = site.url(
                request, "change", model=model_admin.slug, id=entry.object_id
            )
    return site.render(request, None, "index", {"recent": recent, "links": links})


# --- the list -------------------------------------------------------------------------------------
def changelist(
    site: AdminSite, admin: ModelAdmin, request: Request, form: FormData | None
) -> Response:
    """``GET /admin/<table>/``: the list; a POST runs a bulk action on the ticked rows."""
    if not admin.has_view_permission(request):
        raise _forbidden(_("You do not have permission to view %(names)s."), admin)
    if form is not None:
        return _run_action(site, admin, request, form)
    cl = ChangeList(admin, request)
    context = {
        "cl": cl,
        "actions": admin.get_actions(request),
        "add_url": site.url(request, "add", model=admin.slug)
        if admin.has_add_permission(request)
        else None,
        "title": admin.name_plural.capitalize(),
    }
    return site.render(request, admin, "change_list", context)


def _run_action(site: AdminSite, admin: ModelAdmin, request: Request, form: FormData) -> Response:
    name = str(form.get("action") or "")
    actions = admin.get_actions(request)
    chosen = actions.get(name)
    if chosen is None:
        message = _("No action %(action)s here (or you may not run it); choose one from the list.")
        raise HTTPException(400, message % {"action": repr(name)})
    ids = [v for v in form.getlist("_selected") if isinstance(v, str)][:MAX_SELECTED]
    if not ids:
        flash(request, _("Tick the rows to run the action on first."), "warning")
        return _back(request)
    queryset = admin.get_queryset(request).filter(pk__in=ids)
    if chosen.name == DELETE_SELECTED:
        return _delete_selected(site, admin, request, form, queryset, ids)
    objects = [(obj, admin.object_repr(obj)) for obj in queryset]
    result = chosen.function(admin, request, queryset)
    if isinstance(result, Response):
        return result
    message = f"Ran the action “{chosen.description}”."
    log.log_many(site.user(request), objects, log.CHANGE, message)
    flash(
        request,
        result if isinstance(result, str) else _ran(chosen.description, len(objects), admin),
        "success",
    )
    return _back(request)


def _ran(description: str, count: int, admin: ModelAdmin) -> str:
    noun = admin.name if count == 1 else admin.name_plural
    message = _("“%(action)s” ran on %(count)d %(noun)s.")
    return message % {"action": description, "count": count, "noun": noun}


def _delete_selected(
    site: AdminSite,
    admin: ModelAdmin,
    request: Request,
    form: FormData,
    queryset: Any,
    ids: list[str],
) -> Response:
    objects = list(queryset)
    refused = [o for o in objects if not admin.has_delete_permission(request, o)]
    plan = _plan(site, request, admin, objects)
    missing = _missing_permissions(site, request, plan) + [admin.object_repr(o) for o in refused]
    if form.get("post") == "yes" and objects and not plan.protected and not missing:
        entries = [
            log.entry_for(site.user(request), o, log.DELETE, repr_text=admin.object_repr(o))
            for o in objects
        ]
        try:
            count = admin.delete_queryset(request, queryset)
        except ProtectedError as error:
            plan.protected.append(error.detail)
        else:
            log.LogEntry.objects.bulk_create(entries)
            noun = admin.name if count == 1 else admin.name_plural
            message = _("Deleted %(count)d %(noun)s.") % {"count": count, "noun": noun}
            flash(request, message, "success")
            return RedirectResponse(site.url(request, "changelist", model=admin.slug), status=303)
    context = {
        "objects": objects,
        "ids": [pk_text(o) for o in objects],
        "plan": plan,
        "missing": missing,
        "title": _("Delete %(count)d %(names)s?")
        % {"count": len(objects), "names": admin.name_plural},
        "list_url": site.url(request, "changelist", model=admin.slug),
    }
    confirmed = form.get("post") == "yes"
    status = 409 if confirmed and plan.protected else 403 if confirmed and missing else 200
    return site.render(request, admin, "delete_selected_confirmation", context, status)


# --- add and change -------------------------------------------------------------------------------
def add(site: AdminSite, admin: ModelAdmin, request: Request, form: FormData | None) -> Response:
    """``GET``/``POST /admin/<table>/add``: the form for a new object."""
    if not admin.has_add_permission(request):
        raise _forbidden(_("You do not have permission to add %(names)s."), admin)
    return _edit(site, admin, request, form, admin.model(), editable=True)


def change(
    site: AdminSite, admin: ModelAdmin, request: Request, form: FormData | None, id: str
) -> Response:
    """``GET``/``POST /admin/<table>/<id>/change``: the form of an existing object,
    read-only for users who may only view."""
    obj = _get_object(admin, request, id)
    if not admin.has_view_permission(request, obj):
        raise _forbidden(_("You do not have permission to view this %(name)s."), admin)
    editable = admin.has_change_permission(request, obj)
    if form is not None and not editable:
        raise _forbidden(_("You do not have permission to change this %(name)s."), admin)
    return _edit(site, admin, request, form, obj, editable=editable)


def _edit(
    site: AdminSite,
    admin: ModelAdmin,
    request: Request,
    data: FormData | None,
    obj: Any,
    *,
    editable: bool,
) -> Response:
    is_new = sa.inspect(obj).key is None
    # Named before the form changes it: a failed save shows the name that is stored.
    name = admin.object_repr(obj) if not is_new else None
    form = admin.get_form(request, obj, editable=editable)
    formsets = [
        InlineFormSet(inline, request, obj, editable)
        for inline in admin.get_inlines(request, obj)
        if inline.has_view_permission(request)
    ]
    status = 200
    if data is not None:
        saved = _save(site, admin, request, data, obj, form, formsets, is_new)
        if saved is not None:
            return saved
        status = 400
    context = {
        "form": form,
        "formsets": formsets,
        "obj": None if is_new else obj,
        "editable": editable,
        "title": (
            _("Add %(name)s")
            if is_new
            else _("Change %(name)s")
            if editable
            else _("View %(name)s")
        )
        % {"name": admin.name},
        "object_name": name,
        "list_url": site.url(request, "changelist", model=admin.slug),
        "history_url": None
        if is_new
        else site.url(request, "history", model=admin.slug, id=pk_text(obj)),
        "delete_url": None
        if is_new or not admin.has_delete_permission(request, obj)
        else site.url(request, "delete", model=admin.slug, id=pk_text(obj)),
        "error_count": form.error_count() + sum(f.error_count() for f in formsets),
    }
    return site.render(request, admin, "change_form", context, status)


def _save(
    site: AdminSite,
    admin: ModelAdmin,
    request: Request,
    data: FormData,
    obj: Any,
    form: ModelForm,
    formsets: list[InlineFormSet],
    is_new: bool,
) -> Response | None:
    """Validate and save; a redirect on success, None (errors on the forms) otherwise."""
    session = sync_session()
    # NOTE: no autoflush while values are applied: an invalid value must never reach the
    # database, not even through the queries that check relations and unique columns.
    with session.no_autoflush:
        form.bind(data)
        for formset in formsets:
            formset.bind(data)
        valid = form.validate()
        for formset in formsets:  # every one, so that each shows its errors
            valid = formset.validate() and valid
    if not valid:
        session.rollback()  # forget the values applied to objects of the session
        return None
    try:
        # NOTE: no savepoint: a failure rolls the whole unit back below, and a savepoint
        # would flush the new object's links before the object itself is in the session.
        admin.save_model(request, obj, form, not is_new)
        inline_changes = [c for formset in formsets for c in formset.save(request)]
    except ModelValidationError as error:
        session.rollback()
        form.non_field_errors += [f"{k}: {' '.join(v)}" for k, v in error.errors.items()]
        return None
    except sa_exc.IntegrityError as error:
        session.rollback()
        form.non_field_errors.append(
            _(
                "The database refused the change (%(error)s); another user may have saved a "
                "clashing value. Check the values and save again."
            )
            % {"error": type(error.orig).__name__}
        )
        return None
    _log_save(site, admin, request, obj, form.changes, inline_changes, is_new)
    return _after_save(site, admin, request, data, obj, is_new)


def _log_save(
    site: AdminSite,
    admin: ModelAdmin,
    request: Request,
    obj: Any,
    changes: list[Change],
    inline_changes: list[Change],
    is_new: bool,
) -> None:
    all_changes = [*changes, *inline_changes]
    if not is_new and not all_changes:
        return
    action = log.ADD if is_new else log.CHANGE
    log.log(site.user(request), obj, action, all_changes, repr_text=admin.object_repr(obj))


def _after_save(
    site: AdminSite, admin: ModelAdmin, request: Request, data: FormData, obj: Any, is_new: bool
) -> Response:
    name = admin.object_repr(obj)
    done = _("The %(name)s “%(object)s” was added.") if is_new else None
    done = done or _("The %(name)s “%(object)s” was saved.")
    flash(request, done % {"name": admin.name, "object": name}, "success")
    if data.get("_continue"):
        target = site.url(request, "change", model=admin.slug, id=pk_text(obj))
    elif data.get("_addanother"):
        target = site.url(request, "add", model=admin.slug)
    else:
        target = site.url(request, "changelist", model=admin.slug)
    return RedirectResponse(target, status=303)


# --- delete ---------------------------------------------------------------------------------------
def _plan(site: AdminSite, request: Request, admin: ModelAdmin, objects: list[Any]) -> DeletionPlan:
    def label(obj: Any) -> str:
        owner = site.admin_for(type(obj))
        return owner.object_repr(obj) if owner is not None else admin.object_repr(obj)

    def link(obj: Any) -> str | None:
        owner = site.admin_for(type(obj))
        if owner is None or not owner.has_view_permission(request):
            return None
        return site.object_url(request, owner, obj)

    return plan_deletion(objects, label, link)


def _missing_permissions(site: AdminSite, request: Request, plan: DeletionPlan) -> list[str]:
    """The kinds of rows in the cascade the user may not delete (registered models only)."""
    missing = []
    for model in plan.models:
        owner = site.admin_for(model)
        if owner is not None and not owner.has_delete_permission(request):
            missing.append(owner.name_plural)
    return sorted(missing)


def delete(
    site: AdminSite, admin: ModelAdmin, request: Request, form: FormData | None, id: str
) -> Response:
    """``GET``/``POST /admin/<table>/<id>/delete``: ask to confirm, listing what goes
    with the object; refuse while protected rows point at it."""
    obj = _get_object(admin, request, id)
    if not admin.has_delete_permission(request, obj):
        raise _forbidden(_("You do not have permission to delete this %(name)s."), admin)
    plan = _plan(site, request, admin, [obj])
    missing = _missing_permissions(site, request, plan)
    name = admin.object_repr(obj)
    if form is not None and form.get("post") == "yes" and not plan.protected and not missing:
        entry = log.entry_for(site.user(request), obj, log.DELETE, repr_text=name)
        try:
            admin.delete_model(request, obj)
        except ProtectedError as error:
            plan.protected.append(error.detail)
        else:
            entry.save()
            done = _("The %(name)s “%(object)s” was deleted.")
            flash(request, done % {"name": admin.name, "object": name}, "success")
            return RedirectResponse(site.url(request, "changelist", model=admin.slug), status=303)
    context = {
        "obj": obj,
        "object_name": name,
        "plan": plan,
        "missing": missing,
        "title": _("Delete %(name)s “%(object)s”?") % {"name": admin.name, "object": name},
        "change_url": site.object_url(request, admin, obj),
        "list_url": site.url(request, "changelist", model=admin.slug),
    }
    confirmed = form is not None and form.get("post") == "yes"
    status = 409 if confirmed and plan.protected else 403 if confirmed and missing else 200
    return site.render(request, admin, "delete_confirmation", context, status)


# --- history and autocomplete ---------------------------------------------------------------------
def history(
    site: AdminSite, admin: ModelAdmin, request: Request, form: FormData | None, id: str
) -> Response:
    """``GET /admin/<table>/<id>/history``: the change history of one object (kept
    after it is deleted)."""
    obj = _find(admin, request, id)
    if not admin.has_view_permission(request, obj):
        raise _forbidden(_("You do not have permission to view %(names)s."), admin)
    try:
        entries = list(log.history_of(admin.slug, id)[:500])
    except FieldError:  # an id no entry can name (a NUL inside)
        entries = []
    if obj is None and not entries:
        message = _("There is no %(name)s with id %(id)s and no history for one.")
        raise HTTPException(404, message % {"name": admin.name, "id": repr(id)})
    name = admin.object_repr(obj) if obj is not None else entries[0].object_repr
    context = {
        "obj": obj,
        "object_name": name,
        "entries": entries,
        "title": _("History of “%(object)s”") % {"object": name},
        "change_url": site.object_url(request, admin, obj) if obj is not None else None,
        "list_url": site.url(request, "changelist", model=admin.slug),
    }
    return site.render(request, admin, "object_history", context)


def autocomplete(
    site: AdminSite, admin: ModelAdmin, request: Request, form: FormData | None
) -> Response:
    """``{"results": [{"id": "7", "text": "ann"}], "more": false}``: the rows whose search
    fields contain ``term``, 20 per ``page``."""
    if not admin.has_view_permission(request):
        raise _forbidden(_("You do not have permission to view %(names)s."), admin)
    query = checked_query({key: request.query.get(key, "") for key in ("term", "page")})
    term = query["term"].strip()[:100]
    # A page past the last row is an empty page (the widget stops asking), not an error.
    page = page_number(query["page"].strip() or "1", "page")
    queryset = admin.get_queryset(request)
    condition = search_condition(admin.get_search_fields(request), term)
    if condition is not None:
        queryset = queryset.filter(condition)
    per_page = 20
    start = (page - 1) * per_page
    rows = list(queryset.order_by(*admin.get_ordering(request))[start : start + per_page + 1])
    results = [{"id": pk_text(row), "text": admin.object_repr(row)} for row in rows[:per_page]]
    return JSONResponse({"results": results, "more": len(rows) > per_page})


__all__ = ["add", "autocomplete", "change", "changelist", "delete", "history", "index"]
