"""The docs site: ``make docs`` builds it in MkDocs' strict mode, offline, and its API
reference documents every public name (see mkdocs.yml and tools/mkdocs_hooks.py)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
import zlib
from pathlib import Path
from types import ModuleType

import click
import jinja2
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
# Any attempt to reach the network during the build goes to a closed port and fails.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "kettle_mkdocs_hooks", ROOT / "tools/mkdocs_hooks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for this module as ``make docs`` builds it (strict)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, **OFFLINE, "NO_MKDOCS_2_WARNING": "1", "NO_PROXY": ""}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=110, check=False
    )
    took = time.monotonic() - started
    assert done.returncode == 0, f"the strict docs build failed:\n{done.stdout}{done.stderr}"
    assert took < 100, f"the docs build took {took:.0f} s; keep it under a minute"
    return out


def inventory(site: Path) -> dict[str, str]:
    """The objects of the site's ``objects.inv`` (what mkdocstrings documented), by name,
    with the page each is on."""
    data = (site / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four header lines, then the zlib-compressed entries
        header_end = data.index(b"\n", header_end) + 1
    entries: dict[str, str] = {}
    for line in zlib.decompress(data[header_end:]).decode().splitlines():
        name, domain, _priority, uri = line.split(" ", 4)[:4]
        if domain.startswith("py:"):
            entries[name] = uri
    return entries


def page_text(site: Path, page: str) -> str:
    html = (site / page / "index.html").read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_reference_documents_every_public_name(site: Path) -> None:
    documented = inventory(site)
    missing = [
        f"{module}.{name}"
        for module, share in _hooks().shares().items()
        for name in share
        if f"{module}.{name}" not in documented
    ]
    assert not missing, f"the API reference has no entry for: {', '.join(missing)}"


@pytest.mark.parametrize(
    "name",
    [
        "kettle.App",
        "kettle.App.url_for",
        "kettle.Group",
        "kettle.Settings",
        "kettle.Settings.secret_key",
        "kettle.Settings.allowed_hosts",
        "kettle.Request",
        "kettle.Request.form",
        "kettle.Response",
        "kettle.JSONResponse",
        "kettle.db.Model",
        "kettle.db.Model.save",
        "kettle.db.QuerySet.filter",
        "kettle.db.QuerySet.update",
        "kettle.db.QuerySet.delete",
        "kettle.db.F",
        "kettle.db.Q",
        "kettle.db.Count",
        "kettle.db.fields.string",
        "kettle.db.fields.foreign_key",
        "kettle.auth.Auth",
        "kettle.auth.AuthOptions.signup",
        "kettle.auth.AuthOptions.redirect_url",
        "kettle.admin.ModelAdmin.list_display",
        "kettle.admin.ModelAdmin.ordering",
        "kettle.admin.options.BaseModelAdmin.fields",
        "kettle.testing.TestClient",
    ],
)
def test_key_names_are_in_the_reference(site: Path, name: str) -> None:
    assert name in inventory(site), f"{name} is not in the API reference"


def test_comments_document_attributes(site: Path) -> None:
    # AuthOptions.redirect_url is documented by a "#:" comment in kettle/auth/core.py
    text = page_text(site, "reference/auth")
    assert "Where to go after login, sign-up and logout" in text


def _commands(group: click.Group, ctx: click.Context, prefix: str) -> list[str]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        found.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            found += _commands(command, click.Context(command, parent=ctx), f"{prefix} {name}")
    return found


def test_the_cli_page_shows_every_command(site: Path) -> None:
    from kettle.cli import main

    text = page_text(site, "reference/cli")
    commands = _commands(main, click.Context(main), "kettle")
    assert "kettle db migrate" in commands
    missing = [c for c in commands if f"Usage: {c} " not in text]
    assert not missing, f"docs/reference/cli.md does not show {', '.join(missing)}"


def test_every_guide_links_to_the_reference() -> None:
    skipped = {"benchmarks.md"}  # results of a run, no API
    unlinked = [
        guide.name
        for guide in sorted(DOCS.glob("*.md"))
        if guide.name not in skipped and "](reference/" not in guide.read_text(encoding="utf-8")
    ]
    assert not unlinked, f"these guides do not link to the API reference: {unlinked}"


# --- the auth templates page ----------------------------------------------------------------
AUTH_TEMPLATES = ROOT / "src/kettle/auth/templates"


def template_blocks() -> dict[str, list[str]]:
    """Each auth template and the blocks it defines, from the templates themselves."""
    from jinja2 import nodes

    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])  # {% trans %} in the pages
    found = {}
    for path in sorted(AUTH_TEMPLATES.rglob("*")):
        if path.is_file():
            tree = env.parse(path.read_text(encoding="utf-8"))
            name = path.relative_to(AUTH_TEMPLATES).as_posix()
            found[name] = [block.name for block in tree.find_all(nodes.Block)]
    return found


def documented_blocks() -> dict[str, list[str]]:
    """Each template of docs/reference/auth-templates.md and the blocks it lists."""
    text = (REFERENCE / "auth-templates.md").read_text(encoding="utf-8")
    found = {}
    for section in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        name = re.match(r"`([^`]+)`", section)
        blocks = re.search(r"^Blocks: (.*)\.$", section, flags=re.MULTILINE)
        assert name, f"a section of auth-templates.md starts with no `name`:\n{section}"
        assert blocks, f"a section of auth-templates.md has no Blocks line:\n{section}"
        listed = [] if blocks[1] == "none" else re.findall(r"`(\w+)`", blocks[1])
        found[name[1]] = listed
    return found


def test_the_auth_templates_page_matches_the_templates() -> None:
    actual, documented = template_blocks(), documented_blocks()
    assert "auth/login.html" in actual
    assert actual["auth/base.html"][:1] == ["title"]
    assert sorted(documented) == sorted(actual), (
        "docs/reference/auth-templates.md must have one section per template in "
        f"src/kettle/auth/templates: missing {sorted(set(actual) - set(documented))}, "
        f"gone {sorted(set(documented) - set(actual))}"
    )
    for name, blocks in actual.items():
        assert sorted(documented[name]) == sorted(set(blocks)), (
            f"auth-templates.md lists the blocks {documented[name]} for {name}, "
            f"which defines {blocks}"
        )


def test_every_guide_heading_is_a_heading_of_the_site(site: Path) -> None:
    # A fence the site's Markdown does not take as one ("```python skip", say) would turn
    # the rest of the page into code, headings included.
    lost = []
    for guide in sorted(DOCS.glob("*.md")):
        page = "" if guide.stem == "index" else guide.stem
        html = (site / page / "index.html").read_text(encoding="utf-8")
        headings = re.findall(r"^##+ (.+)$", _prose(guide.read_text(encoding="utf-8")), re.M)
        ids = set(re.findall(r'<h[2-6] id="([^"]+)"', html))
        lost += [f"{guide.name}: {h}" for h in headings if _slug(h) not in ids]
    assert not lost, f"headings that the site does not show as headings: {lost}"


def _prose(markdown: str) -> str:
    """``markdown`` without its fenced blocks."""
    return re.sub(r"^(`{3,}).*?^\1[ \t]*$", "", markdown, flags=re.M | re.S)


def _slug(heading: str) -> str:
    """The id Python-Markdown's toc gives ``heading``."""
    from markdown.extensions.toc import slugify

    return slugify(re.sub(r"`|\[([^\]]*)\]\([^)]*\)", r"\1", heading), "-")
