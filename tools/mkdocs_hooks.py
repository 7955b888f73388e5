"""MkDocs hooks for Kettle's docs site (``hooks:`` in mkdocs.yml).

Links out of docs/. The guides are also read on GitHub, where a link such as
``[bench/README.md](../bench/README.md)`` points at a file of the repository outside
docs/. The site has no such file, so the strict build would fail on it. Each repository
file a guide links to this way is published under ``repo/`` in the site (a Markdown file
as a page outside the navigation) and the link points there. A link to a file that does
not exist is left alone, so the strict build still reports it.

The API reference. A reference page names modules only (``::: kettle.routing``); each
directive gets as members the names of the module's ``__all__`` that no page documents
already, the re-exporting packages first (``PACKAGES``). So ``kettle.App`` is documented
once, on the page of ``::: kettle``, and a name added to an ``__all__`` appears in the
reference without editing a page. A public module with names of its own that no page
names fails the strict build, saying which directive to add.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "repo"
REFERENCE = "reference/"
# Packages that re-export names, in the order their pages claim them: ``kettle.App`` is
# documented as ``kettle.App``, not as ``kettle.app.App`` or ``kettle.responses.App``.
PACKAGES = (
    "kettle",
    "kettle.db",
    "kettle.auth",
    "kettle.admin",
    "kettle.testing",
    "kettle.middleware",
    "kettle.responses",
    "kettle.db.migrations",
)
# "](../bench/README.md#anchor)" in a page at the top of docs/: group 1 is the path.
_OUTSIDE = re.compile(r"\]\(\.\./([^)#\s]+)")
# "```python skip" and "```html file=templates/base.html": the words after the language
# are for tests/test_docs.py; the Markdown fences take only a language (and a title).
_FENCE_INFO = re.compile(r"^(`{3,}|~{3,})([\w+-]+)[ \t]+(\S.*)$", re.MULTILINE)
_DIRECTIVE = re.compile(r"^::: (kettle(?:\.\w+)*)[ \t]*$", re.MULTILINE)
log = logging.getLogger("mkdocs.hooks.kettle")


# --- links out of docs/ ---------------------------------------------------------------------
def _targets(markdown: str) -> list[str]:
    """The repository paths (outside docs/) that a top-level guide links to and exist."""
    found = []
    for path in _OUTSIDE.findall(markdown):
        if not path.startswith(("docs/", "../")) and (ROOT / path).is_file():
            found.append(path)
    return found


def plain_fences(markdown: str) -> str:
    """``markdown`` with its fences' test-runner words dropped; a ``file=`` becomes the
    block's title.

    >>> plain_fences("```html file=templates/base.html")
    '```html title="templates/base.html"'
    >>> plain_fences("```python skip")
    '```python'
    """

    def fence(match: re.Match[str]) -> str:
        files = [w[5:] for w in match[3].split() if w.startswith("file=")]
        title = f' title="{files[0]}"' if files else ""
        return f"{match[1]}{match[2]}{title}"

    return _FENCE_INFO.sub(fence, markdown)


def _publish_linked_files(files: Files, config: Any) -> None:
    wanted: set[str] = set()
    for file in files.documentation_pages():
        if "/" not in file.src_uri and file.abs_src_path:  # the guides at the top of docs/
            wanted.update(_targets(Path(file.abs_src_path).read_text(encoding="utf-8")))
    for path in sorted(wanted):
        md = path.endswith(".md")
        inclusion = InclusionLevel.NOT_IN_NAV if md else InclusionLevel.UNDEFINED
        uri = posixpath.join(PREFIX, path)
        files.append(
            File.generated(config, uri, abs_src_path=str(ROOT / path), inclusion=inclusion)
        )


# --- the API reference ----------------------------------------------------------------------
def public_modules() -> list[str]:
    """Kettle's public modules: every module whose dotted path has no ``_`` part."""
    import kettle

    names = ["kettle"]
    for info in pkgutil.walk_packages(kettle.__path__, "kettle."):
        parts = info.name.split(".")
        if not any(p.startswith("_") for p in parts) and "project_templates" not in parts:
            names.append(info.name)
    return names


def shares() -> dict[str, list[str]]:
    """Each public module's share of the reference: the names of its ``__all__`` that no
    module before it (the ``PACKAGES`` first) documents already.

    >>> "App" in shares()["kettle"] and "App" not in shares()["kettle.app"]
    True
    """
    claimed: dict[object, object] = {}  # keeps each object alive, so no id is reused
    found: dict[str, list[str]] = {}
    rest = [m for m in public_modules() if m not in PACKAGES]
    for name in (*PACKAGES, *rest):
        module = importlib.import_module(name)
        share = []
        for export in getattr(module, "__all__", ()):
            value = getattr(module, export)
            # A second name for an object (Manager = QuerySet) is documented as itself.
            own = getattr(value, "__name__", export) == export
            key = id(value) if own else (export, id(value))
            if key not in claimed:
                claimed[key] = value
                share.append(export)
        found[name] = share
    return found


def with_members(markdown: str, share_of: dict[str, list[str]]) -> str:
    """``markdown`` with each ``::: kettle.module`` directive given its members."""

    def members(match: re.Match[str]) -> str:
        share = share_of.get(match[1])
        if share is None:
            return match[0]  # not a public module: mkdocstrings says what is wrong
        listed = "".join(f"\n        - {name}" for name in share) if share else " false"
        return f"{match[0]}\n    options:\n      members:{listed}"

    return _DIRECTIVE.sub(members, markdown)


_SHARES: dict[str, list[str]] = {}


def _check_coverage(files: Files) -> None:
    named: set[str] = set()
    for file in files.documentation_pages():
        if file.src_uri.startswith(REFERENCE) and file.abs_src_path:
            named.update(_DIRECTIVE.findall(Path(file.abs_src_path).read_text(encoding="utf-8")))
    for module, share in _SHARES.items():
        if share and module not in named:
            log.warning(
                f"The API reference does not document {module} ({', '.join(share)}): add "
                f"`::: {module}` to the page of docs/{REFERENCE} where it belongs."
            )


LAZY_COMMANDS = "<!-- kettle: lazy commands -->"


def lazy_commands_markdown() -> str:
    """mkdocs-click directives for the ``kettle`` commands that load on first use (the
    ``lazy`` table of ``kettle.cli``), which mkdocs-click does not see in the group."""
    from kettle.cli import _Main

    return "\n".join(
        f"::: mkdocs-click\n    :module: {module}\n    :command: {attribute}\n"
        f"    :prog_name: kettle {name}\n    :depth: 1\n    :style: plain\n"
        "    :list_subcommands: true\n"
        for name, (module, attribute, _extra) in sorted(_Main.lazy.items())
    )


# --- the hooks --------------------------------------------------------------------------------
def on_files(files: Files, config: Any) -> Files:
    """Publish the repository files the guides link to; check the reference's coverage."""
    _publish_linked_files(files, config)
    _SHARES.clear()
    _SHARES.update(shares())
    _check_coverage(files)
    return files


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    """Point a guide's links to repository files at their copies under ``repo/``; give a
    reference page's directives their members."""
    if page.file.src_uri.startswith(REFERENCE):
        markdown = markdown.replace(LAZY_COMMANDS, lazy_commands_markdown())
        return with_members(markdown, _SHARES)
    markdown = plain_fences(markdown)
    if "/" in page.file.src_uri:
        return markdown
    for path in set(_targets(markdown)):
        markdown = markdown.replace(f"](../{path}", f"]({PREFIX}/{path}")
    return markdown
