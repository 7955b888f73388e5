"""A Griffe extension that reads Kettle's docstrings as Kettle writes them.

Griffe is the reader behind mkdocstrings (the API reference of the docs site) and behind
tests/test_api_docstrings.py. Kettle's sources follow two conventions that it does not
know by itself:

- ``#:`` comments document the attribute they precede (or end the line of)::

      @dataclass
      class AuthOptions:
          #: Where to go after login when no safe ``?next=`` is given.
          redirect_url: str = "/"
          signup: bool = True  #: Whether people may create accounts.

- examples follow a ``::`` (reST literal blocks), indented or not, and ``>>>`` lines are
  doctests; Markdown would run them into the text, so they become fenced code blocks.

Use it with ``extensions: [tools/griffe_kettle.py]`` in mkdocs.yml, or
``griffe.load_extensions("tools/griffe_kettle.py")``.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import griffe

_MARK = "#:"


def comment_doc(lines: list[str], lineno: int, end_lineno: int) -> str | None:
    """The ``#:`` documentation of the statement on lines ``lineno``-``end_lineno``
    (1-based), or None: the ``#:`` lines right above it, else a ``#:`` comment at the end
    of its line.

    >>> comment_doc(["#: The port.", "#: Default 80.", "port = 80"], 3, 3)
    'The port.\\nDefault 80.'
    >>> comment_doc(["port = 80  #: The port."], 1, 1)
    'The port.'
    """
    above: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith(_MARK):
        above.append(lines[index].strip()[len(_MARK) :].strip())
        index -= 1
    if above:
        return "\n".join(reversed(above))
    code, mark, text = lines[lineno - 1].rpartition("  " + _MARK)
    if mark and end_lineno == lineno:
        try:  # the mark is a comment, not in a string, when the code before it parses
            ast.parse(code.strip())
        except SyntaxError:
            return None
        return text.strip() or None
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def fence_examples(text: str) -> str:
    """``text`` (a cleaned docstring) with its ``::`` literal blocks and ``>>>`` doctests
    as fenced Python code blocks, and each ``::`` that opened a block made a ``:``.

    >>> print(fence_examples("Use it::\\n\\n    app = App()\\n\\nDone."))
    Use it:
    <BLANKLINE>
    ```python
    app = App()
    ```
    <BLANKLINE>
    Done.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>") and (not out or not out[-1].strip()):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out.extend(_fence(block, "pycon"))
            continue
        if not line.rstrip().endswith("::") or line.lstrip().startswith(("```", "..")):
            out.append(line)
            i += 1
            continue
        head = line.rstrip()[:-2].rstrip()
        if head:
            out.append(head + ":")
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        base = _indent(line)
        block = []
        if i < len(lines) and _indent(lines[i]) > base:
            # reST: the block is every line indented more than the "::" line
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                block.append(lines[i])
                i += 1
        else:
            # Kettle's short form: the example, unindented, runs to the next blank line
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
        while block and not block[-1].strip():
            block.pop()
        out.append("")
        out.extend(_fence(block, "python"))
        if i < len(lines):
            out.append("")
    return "\n".join(out)


def _fence(block: list[str], language: str) -> list[str]:
    margin = min((_indent(b) for b in block if b.strip()), default=0)
    return [f"```{language}", *(b[margin:] for b in block), "```"]


class KettleDocstrings(griffe.Extension):
    """Read ``#:`` comments as attribute docstrings; fence examples in every docstring."""

    def on_instance(
        self,
        *,
        node: ast.AST | griffe.ObjectNode,
        obj: griffe.Object,
        agent: griffe.Visitor | griffe.Inspector,
        **kwargs: Any,
    ) -> None:
        """Fence the examples of an object's docstring."""
        if obj.docstring is not None:
            obj.docstring.value = fence_examples(obj.docstring.value)

    def on_attribute_instance(
        self,
        *,
        node: ast.AST | griffe.ObjectNode,
        attr: griffe.Attribute,
        agent: griffe.Visitor | griffe.Inspector,
        **kwargs: Any,
    ) -> None:
        """Give an attribute found in source code, without a docstring, its comments."""
        path = attr.filepath
        if attr.docstring is not None or not isinstance(node, ast.stmt):
            return
        if not isinstance(path, Path) or path not in attr.lines_collection:
            return
        end = node.end_lineno or node.lineno
        text = comment_doc(attr.lines_collection[path], node.lineno, end)
        if text:
            attr.docstring = griffe.Docstring(
                fence_examples(text), lineno=node.lineno, endlineno=end, parent=attr
            )
