"""The OpenAPI document of every app the examples and the guides build is valid OpenAPI
3.1 (examples/hello.py and examples/weather.py here, through `kettle openapi` in
test_openapi_serve.py too; the news site in tests/examples/news/test_site_openapi.py)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openapi_spec_validator import validate

from kettle import App
from kettle.openapi import openapi_of
from test_docs import GUIDES, parse, run_guide, runs_in_subprocess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["hello", "weather"])
def test_an_example_apps_document_is_valid(name: str) -> None:
    app = load(EXAMPLES / f"{name}.py", f"openapi_example_{name}").app
    doc = openapi_of(app).document()
    validate(doc)  # type: ignore[arg-type]
    assert doc["paths"]


IN_PROCESS = [g for g in GUIDES if not runs_in_subprocess(g.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("guide", IN_PROCESS, ids=lambda g: g.name)
def test_every_app_a_guide_builds_has_a_valid_document(
    guide: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The guide runs as tests/test_docs.py runs it; each app it builds is checked as soon
    # as it is built, while the guide's names (its Structs' annotations) are importable.
    checked: list[App] = []
    problems: list[str] = []
    build = App.build

    def checking(self: App) -> None:
        build(self)  # an app the guide shows failing to start is not checked
        if self in checked:
            return
        checked.append(self)
        try:
            doc: dict[str, Any] = openapi_of(self).document()
            validate(doc)  # type: ignore[arg-type]
        except Exception as exc:
            problems.append(f"{self.name} ({sorted(r for r, *_ in self.routes)}): {exc!r}")

    monkeypatch.setattr(App, "build", checking)
    for name in [n for n in os.environ if n.startswith("KETTLE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KETTLE_ENV", "testing")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    run_guide(guide, parse(guide.read_text(encoding="utf-8")), tmp_path)
    assert not problems, "\n".join(problems)
