"""Every guide in docs/ is a test: its examples run, in order, as the reader would run them.

Conventions, per guide:

- every ```python block runs, in order, in one namespace, in a fresh temporary working
  directory (so ``App()`` in an example uses that directory as its root);
- a block whose first line is exactly ```python skip is shown but not run;
- a block with ``file=<path>`` in its info string (```html file=templates/base.html) is
  written to that path, relative to the working directory, before the next blocks run;
- any other block (```sh, ```text, ...) is only shown.

A guide other than index.md must have at least one block that runs.
"""

from __future__ import annotations

import os
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDES = sorted(DOCS.glob("*.md"))
_FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")

# Examples that show the right behaviour but fail today because of a Kettle bug, by
# guide: (a line found in exactly one block of the guide, what is wrong). Such a block
# must fail; the guide then xfails strictly, and the run fails as soon as the block
# passes, so a fixed bug cannot go unnoticed: delete its entry when that happens.
KNOWN_BUGS: dict[str, list[tuple[str, str]]] = {}


class KnownBug(Exception):
    """A block listed in KNOWN_BUGS failed, as expected while the bug is there."""


@dataclass(frozen=True)
class Block:
    line: int  # line of the block's first content line in the guide, 1-based
    info: str
    code: str

    @property
    def file(self) -> str | None:
        return next((t[5:] for t in self.info.split() if t.startswith("file=")), None)

    @property
    def runs(self) -> bool:
        words = self.info.split()
        return self.file is None and words[:1] == ["python"] and words != ["python", "skip"]


def parse(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text; an unclosed fence is an error."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        i += 1
        if opening is None:
            continue
        fence, info, start = opening[1], opening[2].strip(), i
        while i < len(lines) and not _closes(lines[i], fence):
            i += 1
        if i == len(lines):
            raise AssertionError(f"the block opened on line {start} is never closed")
        blocks.append(Block(start + 1, info, "\n".join(lines[start:i]) + "\n"))
        i += 1
    return blocks


def _closes(line: str, fence: str) -> bool:
    text = line.rstrip()
    return text.startswith(fence) and set(text) == {fence[0]}


def _bug_for(guide: str, block: Block) -> str | None:
    for marker, bug in KNOWN_BUGS.get(guide, []):
        if marker in block.code:
            return bug
    return None


def _param(path: Path) -> object:
    bugs = KNOWN_BUGS.get(path.name)
    if not bugs:
        return pytest.param(path, id=path.name)
    reason = "; ".join(bug for _, bug in bugs)
    mark = pytest.mark.xfail(raises=KnownBug, strict=True, reason=reason)
    return pytest.param(path, marks=mark, id=path.name)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, importable, with only KETTLE_ENV=testing set."""
    for name in [n for n in os.environ if n.startswith("KETTLE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KETTLE_ENV", "testing")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("path", [_param(p) for p in GUIDES])
def test_guide(path: Path, workdir: Path) -> None:
    blocks = parse(path.read_text(encoding="utf-8"))
    runnable = [b for b in blocks if b.runs]
    if path.name != "index.md":
        assert runnable, f"{path.name} has no ```python block to run"
    for marker, _ in KNOWN_BUGS.get(path.name, []):
        found = sum(marker in b.code for b in runnable)
        assert found == 1, f"KNOWN_BUGS marker {marker!r} is in {found} blocks of {path.name}"

    module = types.ModuleType(f"docs_{path.stem.replace('-', '_')}")
    sys.modules[module.__name__] = module
    before = set(sys.modules)
    hidden: dict[str, types.ModuleType] = {}
    failures: list[str] = []
    try:
        for block in blocks:
            if block.file is not None:
                target = workdir / block.file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.code, encoding="utf-8")
                # The guide's files shadow modules of the same name that other tests
                # imported (an examples/weather.py, say): import them afresh.
                top = Path(block.file).parts[0].removesuffix(".py")
                for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
                    hidden.setdefault(name, sys.modules.pop(name))
                continue
            if not block.runs:
                continue
            # Padding keeps line numbers in tracebacks equal to the guide's.
            code = compile("\n" * (block.line - 1) + block.code, str(path), "exec")
            bug = _bug_for(path.name, block)
            if bug is None:
                exec(code, module.__dict__)
                continue
            try:
                exec(code, module.__dict__)
            except Exception as exc:
                failures.append(f"line {block.line}: {type(exc).__name__}: {exc}")
            else:
                pytest.fail(
                    f"{path.name} line {block.line} passes now, so this bug is fixed: {bug}. "
                    "Remove its KNOWN_BUGS entry."
                )
    finally:
        for value in module.__dict__.values():
            if isinstance(value, httpx.Client):
                value.close()
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if file.startswith(str(workdir)):
                del sys.modules[name]
        sys.modules.update(hidden)
        del sys.modules[module.__name__]
    if failures:
        raise KnownBug("\n".join(failures))


def test_index_lists_every_guide() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    missing = [p.name for p in GUIDES if p.name != "index.md" and f"]({p.name})" not in index]
    assert not missing, f"docs/index.md does not link to {', '.join(missing)}"
