"""Every guide in docs/ is a test: its examples run, in order, as the reader would run them.

Conventions, per guide:

- every ```python block runs, in order, in one namespace, in a fresh temporary working
  directory (so ``App()`` in an example uses that directory as its root);
- a block whose first line is exactly ```python skip is shown but not run;
- a block with ``file=<path>`` in its info string (```html file=templates/base.html) is
  written to that path, relative to the working directory, before the next blocks run;
- any other block (```sh, ```text, ...) is only shown.

A guide other than index.md must have at least one block that runs.

A guide whose first line is exactly ``<!-- kettle-docs: subprocess -->`` runs in a fresh
Python process (same working directory, environment and conventions). Use it for guides
that declare ``kettle.db`` models: models register in one ``MetaData`` per process, so
their tables would collide with the test suite's models and with other guides'. Errors
are reported with the guide's own line numbers either way.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDES = sorted(DOCS.glob("*.md"))
_FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
SUBPROCESS_MARKER = "<!-- kettle-docs: subprocess -->"

# Examples that show the right behaviour but fail today because of a Kettle bug, by
# guide: (a line found in exactly one block of the guide, what is wrong). Such a block
# must fail; the guide then xfails strictly, and the run fails as soon as the block
# passes, so a fixed bug cannot go unnoticed: delete its entry when that happens.
KNOWN_BUGS: dict[str, list[tuple[str, str]]] = {}


class KnownBug(Exception):
    """A block listed in KNOWN_BUGS failed, as expected while the bug is there."""


class BugFixed(pytest.fail.Exception):
    """A block listed in KNOWN_BUGS passed: the bug is fixed and its entry must go (it
    fails the test as ``pytest.fail`` does)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, pytrace=False)


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
    """An empty working directory, importable, with only KETTLE_ENV=testing set (and no
    DATABASE_URL, so the database guides use SQLite in this directory)."""
    for name in [n for n in os.environ if n.startswith("KETTLE_") or n == "DATABASE_URL"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KETTLE_ENV", "testing")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def runs_in_subprocess(text: str) -> bool:
    """Whether a guide asks for a process of its own (see the module docstring)."""
    return text.split("\n", 1)[0].strip() == SUBPROCESS_MARKER


@pytest.mark.parametrize("path", [_param(p) for p in GUIDES])
def test_guide(path: Path, workdir: Path) -> None:
    text = path.read_text(encoding="utf-8")
    blocks = parse(text)
    runnable = [b for b in blocks if b.runs]
    if path.name != "index.md":
        assert runnable, f"{path.name} has no ```python block to run"
    for marker, _ in KNOWN_BUGS.get(path.name, []):
        found = sum(marker in b.code for b in runnable)
        assert found == 1, f"KNOWN_BUGS marker {marker!r} is in {found} blocks of {path.name}"

    if runs_in_subprocess(text):
        failures = _run_in_subprocess(path, workdir)
    else:
        failures = run_guide(path, blocks, workdir)
    if failures:
        raise KnownBug("\n".join(failures))


def run_guide(path: Path, blocks: list[Block], workdir: Path) -> list[str]:
    """Run a guide's blocks here, in ``workdir``; returns how the KNOWN_BUGS blocks failed.

    Raises ``BugFixed`` when a KNOWN_BUGS block passes, and any other block's error as is.
    """
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
                raise BugFixed(
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
    return failures


def _run_in_subprocess(path: Path, workdir: Path) -> list[str]:
    """``run_guide`` in a new interpreter (this file as a script, see ``_child``).

    The child inherits the working directory and the environment the ``workdir`` fixture
    set; its output goes to the test's captured output. It reports back in a JSON file
    kept outside ``workdir``, so the guide never sees it.
    """
    report = workdir.with_name(workdir.name + "-report.json")
    command = [sys.executable, __file__, str(path), str(report)]
    done = subprocess.run(command, cwd=workdir, timeout=100, check=False)
    if not report.exists():
        pytest.fail(f"{path.name}: its process exited with {done.returncode} and no report")
    outcome = json.loads(report.read_text(encoding="utf-8"))
    if "fixed" in outcome:
        raise BugFixed(outcome["fixed"])
    if "error" in outcome:
        pytest.fail(f"{path.name} failed in its own process:\n{outcome['error']}", pytrace=False)
    return list(outcome["failures"])


def _child(guide: Path, report: Path) -> None:
    """The subprocess side: run ``guide`` here and write its outcome to ``report``."""
    workdir = Path.cwd()
    sys.path[0] = str(workdir)  # as the workdir fixture's syspath_prepend, not tests/
    try:
        blocks = parse(guide.read_text(encoding="utf-8"))
        outcome: dict[str, object] = {"failures": run_guide(guide, blocks, workdir)}
    except BugFixed as fixed:
        outcome = {"fixed": fixed.msg}
    except BaseException as exc:
        outcome = {"error": _guide_traceback(exc, guide)}
    report.write_text(json.dumps(outcome), encoding="utf-8")


def _guide_traceback(exc: BaseException, guide: Path) -> str:
    """The traceback of ``exc`` from the guide's first frame on (the runner's are noise)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != str(guide):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


def test_index_lists_every_guide() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    missing = [p.name for p in GUIDES if p.name != "index.md" and f"]({p.name})" not in index]
    assert not missing, f"docs/index.md does not link to {', '.join(missing)}"


if __name__ == "__main__":
    _child(Path(sys.argv[1]), Path(sys.argv[2]))
