"""Compiled templates kept on disk (Jinja2's bytecode cache), so that workers start warm."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import jinja2
import pytest
from jinja2.bccache import bc_magic

from kettle import App, Settings
from kettle._template_cache import cache_folder

BASE = "<title>{% block title %}{% endblock %}</title>{% block body %}{% endblock %}"
PAGE = (
    '{% extends "base.html" %}{% block title %}Tea{% endblock %}'
    "{% block body %}{{ x }}{% endblock %}"
)


def make_app(root: Path, env: str = "production", **settings: object) -> App:
    if env == "production":
        settings = {"secret_key": "k", "allowed_hosts": ["testserver"], **settings}
    return App(
        "site",
        root=root,
        settings=Settings.load(env_file=None, environ={}, env=env, **settings),  # type: ignore[arg-type]
    )


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = tmp_path / "project"
    (project / "templates").mkdir(parents=True)
    (project / "templates" / "base.html").write_text(BASE)
    (project / "templates" / "page.html").write_text(PAGE)
    return project


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja2 compiles from source."""
    names: list[str] = []
    original = jinja2.Environment.compile

    def counting(
        self: jinja2.Environment, source: object, name: str | None = None, *a: object, **k: object
    ) -> object:
        names.append(name or "")
        return original(self, source, name, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return names


def cached_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("__jinja2_*.cache"))


def test_a_second_start_loads_the_compiled_templates(root: Path, compiled: list[str]) -> None:
    first = make_app(root)
    assert first.templates.render_string("page.html", x="<1>") == "<title>Tea</title>&lt;1&gt;"
    assert sorted(compiled) == ["base.html", "page.html"]
    folder = cache_folder(first)
    assert folder is not None
    assert folder.parent == root.parent / "cache" / "kettle" / "templates"
    assert folder.name.startswith("site-")
    assert len(cached_files(folder)) == 2

    compiled.clear()
    second = make_app(root)  # another worker, or the next start
    assert second.templates.render_string("page.html", x="<2>") == "<title>Tea</title>&lt;2&gt;"
    assert compiled == []


def test_a_changed_template_is_compiled_again(root: Path, compiled: list[str]) -> None:
    make_app(root).templates.render_string("page.html", x=1)
    (root / "templates" / "page.html").write_text(PAGE.replace("Tea", "Coffee"))

    compiled.clear()
    text = make_app(root).templates.render_string("page.html", x=1)

    assert text == "<title>Coffee</title>1"
    assert compiled == ["page.html"]


def test_each_project_and_app_has_its_own_folder(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()

    assert cache_folder(make_app(root)) != cache_folder(make_app(other))
    assert cache_folder(make_app(root)) != cache_folder(
        App("admin", root=root, settings=make_app(root).settings)
    )


@pytest.mark.parametrize("env", ["development", "testing"])
def test_auto_keeps_nothing_outside_production(root: Path, env: str) -> None:
    app = make_app(root, env)
    app.templates.render_string("page.html", x=1)

    assert cache_folder(app) is None
    assert app.templates.bytecode_cache is None
    assert not (root.parent / "cache" / "kettle" / "templates").exists()


def test_off_keeps_nothing(root: Path, compiled: list[str]) -> None:
    for _ in range(2):
        make_app(root, template_cache="off").templates.render_string("page.html", x=1)

    assert compiled == ["page.html", "base.html"] * 2
    assert not (root.parent / "cache" / "kettle" / "templates").exists()


def test_a_folder_of_ones_own_is_used_in_every_environment(
    root: Path, tmp_path: Path, compiled: list[str]
) -> None:
    folder = tmp_path / "compiled" / "here"
    make_app(root, "testing", template_cache=str(folder)).templates.render_string("page.html", x=1)
    compiled.clear()
    make_app(root, "development", template_cache=str(folder)).templates.render_string(
        "page.html", x=1
    )

    assert len(cached_files(folder)) == 2
    assert compiled == []


def test_a_plain_text_overlay_does_not_load_the_html_code(root: Path, compiled: list[str]) -> None:
    # Autoescaping is compiled in: the auth e-mails' text environment, an overlay of the
    # HTML one on the same folder and the same cache, must compile its own code.
    (root / "templates" / "mail.txt").write_text("Hello {{ name }}")
    for _ in range(2):  # the second round loads both from disk
        html = make_app(root).templates.environment()
        text = html.overlay(autoescape=False)
        assert html.get_template("mail.txt").render(name="<Ann>") == "Hello &lt;Ann&gt;"
        assert text.get_template("mail.txt").render(name="<Ann>") == "Hello <Ann>"

    assert compiled == ["mail.txt", "mail.txt"]


def test_a_folder_that_cannot_be_made_is_a_warning_not_an_error(
    root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    app = make_app(root, template_cache=str(blocker / "templates"))

    with caplog.at_level(logging.WARNING, logger="kettle.templates"):
        assert app.templates.render_string("page.html", x=1) == "<title>Tea</title>1"

    assert app.templates.bytecode_cache is None
    assert "cannot be created" in caplog.text
    assert "KETTLE_TEMPLATE_CACHE" in caplog.text


def test_a_damaged_file_is_compiled_again(root: Path, compiled: list[str]) -> None:
    app = make_app(root)
    app.templates.render_string("page.html", x=1)
    folder = cache_folder(app)
    assert folder is not None
    for file in cached_files(folder):
        # Cut short inside the source checksum, as a full disk might leave it.
        file.write_bytes(file.read_bytes()[: len(bc_magic) + 3])

    compiled.clear()
    assert make_app(root).templates.render_string("page.html", x=2) == "<title>Tea</title>2"
    assert sorted(compiled) == ["base.html", "page.html"]


WORKER = """
import sys
from pathlib import Path
from kettle import App, Settings

root = Path(sys.argv[1])
settings = Settings.load(env_file=None, environ={}, env="production", secret_key="k",
                         allowed_hosts=["x"], template_cache=sys.argv[2])
app = App("site", root=root, settings=settings)
for round in range(3):
    for n in range(40):
        assert app.templates.render_string(f"t{n}.html", n=n) == f"<p>{n}</p>", n
    app = App("site", root=root, settings=settings)
"""


def test_workers_starting_together_share_one_folder(root: Path, tmp_path: Path) -> None:
    for n in range(40):
        (root / "templates" / f"t{n}.html").write_text("<p>{{ n }}</p>" + "{# pad #}" * n)
    folder = tmp_path / "shared"
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(WORKER))

    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), str(folder)], stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    errors = [w.communicate(timeout=120)[1].decode() for w in workers]

    assert [w.returncode for w in workers] == [0] * 4, errors
    assert len(cached_files(folder)) == 40
    assert not list(folder.glob("*.tmp"))  # no half-written file left behind
