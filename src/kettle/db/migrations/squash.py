"""Squashing: one revision that does what a straight run of revisions did.

Each squashed revision's code is kept verbatim inside a function of the new file, so its
schema and data steps run exactly as before, in order (and in reverse to downgrade)::

    def _revision_1a2b3c4d5e6f() -> tuple[Any, Any]:
        import sqlalchemy as sa
        from alembic import op

        def upgrade() -> None:
            op.create_table("article", ...)
        ...
        return upgrade, downgrade

The new revision takes the id of the last one it replaces and the parent of the first, so
databases at either end, and the revisions after the run, need no change.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import re
import tokenize
from pathlib import Path
from typing import TYPE_CHECKING

from kettle.db.migrations.errors import MigrationError

if TYPE_CHECKING:
    from alembic.script import Script, ScriptDirectory

_IDS = {"revision", "down_revision", "branch_labels", "depends_on"}


def select_chain(script: ScriptDirectory, start: str | None, end: str) -> list[Script]:
    """The revisions from ``start`` (default: the first) to ``end``, oldest first; they
    must form a straight line (no merges, branch labels or dependencies)."""
    last = script.get_revision(end)
    first = script.get_revision(start).revision if start is not None else None
    chain = [last]
    while chain[-1].revision != first:
        parents = _parents(chain[-1])
        if len(parents) > 1:
            raise MigrationError(
                f"{chain[-1].revision} merges {', '.join(parents)}: squash a straight run of "
                "revisions (start after the merge with --start)."
            )
        if not parents:
            if first is not None:
                raise MigrationError(f"{start} does not come before {end}: nothing to squash.")
            break
        chain.append(script.get_revision(parents[0]))
    chain.reverse()
    if len(chain) < 2:
        raise MigrationError(f"Only one revision from {start or 'the first'} to {end}.")
    for item in chain:
        if item.branch_labels or item.dependencies:
            raise MigrationError(
                f"{item.revision} has branch labels or depends_on; squash leaves those alone."
            )
    for item in chain[:-1]:
        if len(item.nextrev) > 1:
            raise MigrationError(
                f"{item.revision} has several children ({', '.join(sorted(item.nextrev))}): "
                "squash a straight run of revisions."
            )
    return chain


def write(chain: list[Script], message: str | None = None) -> Path:
    """Replace the files of ``chain`` with one squashed revision; returns its path."""
    last = chain[-1]
    message = message or f"squash of {len(chain)} revisions, {chain[0].doc} .. {last.doc}"
    steps = [(s.revision, s.doc, Path(s.path).read_text(encoding="utf-8")) for s in chain]
    parents = _parents(chain[0])
    source = merge(steps, last.revision, parents[0] if parents else None, message)
    folder = Path(last.path).parent
    slug = re.sub(r"\W+", "_", message.lower()).strip("_")[:40]
    path = folder / f"{dt.datetime.now():%Y_%m_%d_%H%M}_{last.revision}_{slug}.py"
    for item in chain:
        Path(item.path).unlink()
    path.write_text(source, encoding="utf-8")
    return path


def merge(
    steps: list[tuple[str, str, str]], revision: str, down_revision: str | None, message: str
) -> str:
    """The source of a revision running ``steps`` (``(id, message, source)``, oldest
    first) one after the other."""
    future: list[str] = []
    functions: list[str] = []
    names: list[str] = []
    for rev, doc, source in steps:
        name = "_revision_" + re.sub(r"\W", "_", rev)
        names.append(name)
        body, future_imports = _module_body(source)
        future.extend(f for f in future_imports if f not in future)
        functions.append(
            f"def {name}() -> tuple[Any, Any]:\n"
            f"    {_docstring(doc)}\n"
            f"{body.rstrip()}\n\n"
            "    return upgrade, downgrade\n"
        )
    listing = "\n".join(f"  {rev} {doc}" for rev, doc, _ in steps)
    message = message.replace('"""', "'''")
    header = (
        f'"""{message}\n\nSquashes {len(steps)} revisions:\n{listing}\n\n'
        f"Revision ID: {revision}\nRevises: {down_revision or ''}\n"
        f'Create Date: {dt.datetime.now():%Y-%m-%d %H:%M:%S}\n"""\n\n'
    )
    imports = "".join(f"{line}\n" for line in future) + "\nfrom typing import Any\n\n"
    ids = (
        f"revision = {revision!r}\ndown_revision = {down_revision!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
    )
    run = (
        f"_STEPS = [{', '.join(f'{n}()' for n in names)}]\n\n\n"
        "def upgrade() -> None:\n"
        "    for step, _ in _STEPS:\n        step()\n\n\n"
        "def downgrade() -> None:\n"
        "    for _, step in reversed(_STEPS):\n        step()\n"
    )
    return header + imports + ids + "\n\n".join(functions) + "\n\n" + run


def _module_body(source: str) -> tuple[str, list[str]]:
    """A revision's statements, indented one level, without its docstring, revision ids
    and ``from __future__`` imports (returned apart); comments are kept."""
    tree = ast.parse(source)
    lines = source.splitlines()
    drop: set[int] = set()
    future: list[str] = []
    for index, node in enumerate(tree.body):
        span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
        is_docstring = (
            index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        )
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future.append(ast.unparse(node))
            drop.update(span)
        elif is_docstring or _assigns_ids(node):
            drop.update(span)
    inside_strings = _string_continuation_lines(source)
    body = []
    for number, line in enumerate(lines, start=1):
        if number in drop:
            continue
        keep_as_is = number in inside_strings or not line.strip()
        body.append(line if keep_as_is else "    " + line)
    return "\n".join(body).strip("\n"), future


def _assigns_ids(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) and t.id in _IDS for t in node.targets)
    return isinstance(node, ast.AnnAssign) and (
        isinstance(node.target, ast.Name) and node.target.id in _IDS
    )


def _string_continuation_lines(source: str) -> set[int]:
    """Lines that lie inside a multi-line string (indenting them would change it)."""
    lines: set[int] = set()
    # Python 3.12 splits f-strings into FSTRING_START ... FSTRING_END tokens.
    f_start, f_end = (getattr(tokenize, n, -1) for n in ("FSTRING_START", "FSTRING_END"))
    opened: list[int] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == f_start:
            opened.append(token.start[0])
            continue
        start = opened.pop() if token.type == f_end and opened else token.start[0]
        if token.type in (tokenize.STRING, f_end) and token.end[0] > start:
            lines.update(range(start + 1, token.end[0] + 1))
    return lines


def _docstring(doc: str) -> str:
    return '"""' + doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '"""'


def _parents(script: Script) -> tuple[str, ...]:
    value = script.down_revision
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


__all__ = ["merge", "select_chain", "write"]
