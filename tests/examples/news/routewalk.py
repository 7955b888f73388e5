"""What the hostile walk walks: every route of an app (and its static mounts), read from
the app's router, and what its pages reveal about each route's inputs.

A route added later is walked without any change here: ``targets(app)`` lists every
``(method, route)`` the router knows, with the query and form fields its handler
declares; ``Harvest`` adds the names the pages themselves use (form fields, the admin's
filter links)::

    for target in targets(app):
        print(target.method, target.template, target.query_names)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

from kettle import App
from kettle.converters import Converter
from kettle.handlers import analyse
from kettle.routing import parse_path

#: Query names worth trying on every route: pagination, sorting, search, redirects.
COMMON_QUERY_NAMES = ("page", "p", "o", "q", "next")
#: A path piece: the literal before a parameter, the parameter's name and converter.
Part = tuple[str, str | None, Converter | None]


@dataclass(frozen=True)
class Target:
    """One method of one route (or a static mount, as ``GET <prefix>/<path:path>``)."""

    method: str
    name: str
    template: str
    parts: tuple[Part, ...]
    query_names: tuple[str, ...] = ()
    form_names: tuple[str, ...] = ()
    #: The JSON body's field names when the handler reads one, else None.
    json_fields: tuple[str, ...] | None = None
    #: A JSON body the handler accepts: its required fields, each with a plain value.
    json_example: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.name)

    @property
    def changes_who_is_signed_in(self) -> bool:
        """Routes that may end the session or delete rows: walked last."""
        return self.method == "DELETE" or any(
            word in self.name for word in ("delete", "logout", "signup", "login")
        )


def _inputs(endpoint: Any, param_names: tuple[str, ...]) -> dict[str, Any]:
    query: list[str] = []
    form: list[str] = []
    json_fields: tuple[str, ...] | None = None
    example: dict[str, Any] = {}
    for found in analyse(endpoint, param_names):
        if found.source == "query":
            query.append(found.key)
        elif found.source == "form":
            form.append(found.key)
        elif found.source == "body":
            tp = found.annotation
            described = msgspec.structs.fields(tp) if _is_struct(tp) else ()
            json_fields = tuple(f.name for f in described)
            example = {f.name: _plain(f.type) for f in described if f.required}
    return {
        "query_names": tuple(query),
        "form_names": tuple(form),
        "json_fields": json_fields,
        "json_example": example,
    }


def _plain(tp: Any) -> Any:
    """A harmless value of type ``tp`` for a JSON field the walk does not aim at."""
    return 1 if tp is int else False if tp is bool else "walk"


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def targets(app: App) -> list[Target]:
    """Every route and method of ``app`` and each static mount; ``app`` is built first.

    Ordered for a walk: reads first, then writes, then what may end the session."""
    app.build()
    found: list[Target] = []
    router = app.router
    tables = [*router.static.values(), *(p.by_method for p in router.patterns)]
    for table in tables:
        for method, route in table.items():
            parts = parse_path(route.path, app.converters, route.name)
            inputs = _inputs(route.endpoint, route.param_names)
            found.append(Target(method, route.name, route.path, tuple(parts), **inputs))
    path_converter = app.converters["path"]
    for mount in router.mounts:
        parts = ((mount.prefix + "/", "path", path_converter), ("", None, None))
        template = f"{mount.prefix}/<path:path>"
        found.append(Target("GET", f"mount:{mount.name}", template, parts))
    return sorted(found, key=lambda t: (t.changes_who_is_signed_in, t.method != "GET", t.name))


def mount_files(app: App) -> list[str]:
    """The files of the app's static mounts, as paths inside their mount."""
    names: list[str] = []
    for mount in app.router.mounts:
        directory = getattr(mount.app, "directory", None)
        if directory is None:
            continue
        for folder, _, files in os.walk(directory):
            for file in files:
                names.append(os.path.relpath(os.path.join(folder, file), directory))
    return sorted(names)


@dataclass
class Form:
    """A form seen on a page: where it goes and its fields' names and values."""

    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)


class _Page(HTMLParser):
    def __init__(self, path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.token: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.path
            self.forms.append(Form(a.get("method", "get").upper(), action))
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "meta" and a.get("name") == "csrf-token":
            self.token = self.token or a.get("content")
        elif tag in ("input", "textarea", "select", "button") and a.get("name"):
            name = a["name"]
            if name == "csrf_token":
                self.token = self.token or a.get("value")
            elif self.forms:
                self.forms[-1].fields.setdefault(name, []).append(a.get("value", ""))
            self._select = name if tag == "select" else None
        elif tag == "option" and self._select and self.forms:
            self.forms[-1].fields.setdefault(self._select, []).append(a.get("value", ""))


@dataclass
class Harvest:
    """What a role's pages showed: field names and values per target, extra query names,
    path values that lead somewhere per route path, and a CSRF token of the session."""

    query_names: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    fields: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)
    #: route path ("/articles/<int:id>") -> parameter -> values seen in working URLs
    params: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    token: str | None = None

    def read(self, app: App, path: str, html: str) -> None:
        """Take in the forms and links of the page at ``path``."""
        page = _Page(path)
        page.feed(html)
        self.token = page.token or self.token
        for form in page.forms:
            url = urlsplit(form.action)
            key = self.found(app, form.method, url.path or path)
            if key is None:
                continue
            if form.method == "GET":
                self.query_names.setdefault(key, set()).update(form.fields)
            else:
                kept = self.fields.setdefault(key, {})
                for name, values in form.fields.items():
                    kept.setdefault(name, set()).update(values)
        for href in page.links:
            url = urlsplit(href)
            key = self.found(app, "GET", url.path or path)
            if key is not None and url.query:
                names = {name for name, _ in parse_qsl(url.query, keep_blank_values=True)}
                self.query_names.setdefault(key, set()).update(names)

    def found(self, app: App, method: str, path: str) -> tuple[str, str] | None:
        """Note the path values of a URL that works (a link, a form, a seeded page);
        returns its target's key, or None when no route serves it."""
        if not path.startswith("/"):
            return None
        route, params, _ = app.router.lookup(method, path)
        if route is None:
            return None
        kept = self.params.setdefault(route.path, {})
        for name, value in params.items():
            kept.setdefault(name, set()).add(str(value))
        return (method, route.name)

    def path_values(self, target: Target, name: str, seeds: dict[str, list[str]]) -> list[str]:
        """Values of the parameter ``name`` seen in working URLs of ``target``'s path,
        else the seeded ones."""
        seen = self.params.get(target.template, {}).get(name)
        return sorted(seen) if seen else seeds.get(name, ["1"])

    def query_names_of(self, target: Target) -> list[str]:
        seen = self.query_names.get(target.key, set())
        return sorted({*target.query_names, *COMMON_QUERY_NAMES, *seen})

    def fields_of(self, target: Target) -> dict[str, list[str]]:
        seen = self.fields.get(target.key, {})
        names = {*target.form_names, *seen}
        return {name: sorted(seen.get(name, set())) for name in sorted(names)}


def seed_paths(target: Target, seeds: dict[str, list[str]], limit: int = 40) -> Iterator[str]:
    """Paths of ``target`` filled with the seeded values (each combination, up to
    ``limit``), for the pass that reads every page before the walk."""
    combos: list[list[str]] = [[]]
    for _, name, _ in target.parts:
        if name is not None:
            combos = [[*c, value] for c in combos for value in seeds.get(name, ["1"])]
    for combo in combos[:limit]:
        values = iter(combo)
        yield "".join(literal + (next(values) if name else "") for literal, name, _ in target.parts)
