"""``kettle i18n``: extract, init, update and compile on a one-file app, then serve it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from click.testing import CliRunner

from kettle.cli import main
from kettle.testing import TestClient

APP = """
from kettle import App, render
from kettle.i18n import I18n, gettext as _, lazy_gettext

app = App()
i18n = I18n(app, languages=["en", "fr"])
TITLE = lazy_gettext("Tea menu")


@app.get("/")
def home():
    return render("home.html", title=TITLE, note=_("Freshly brewed"))
"""
HOME = "<h1>{{ title }}</h1><p>{{ note }}</p><p>{% trans %}Pour slowly{% endtrans %}</p>"


def _translate(po: Path, translations: dict[str, str]) -> None:
    with po.open("rb") as file:
        catalog = read_po(file)
    for message in catalog:
        if message.id in translations:
            message.string = translations[message.id]
            message.flags.discard("fuzzy")
    with po.open("wb") as file:
        write_po(file, catalog)


def _load(folder: Path) -> object:
    spec = importlib.util.spec_from_file_location(f"i18n_cli_app_{id(folder)}", folder / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_extract_init_update_compile_then_the_app_is_translated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "home.html").write_text(HOME)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def kettle(*args: str) -> str:
        result = runner.invoke(main, ["i18n", *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "messages.pot" in kettle("extract")
    pot = (tmp_path / "locale" / "messages.pot").read_text()
    for message in ("Tea menu", "Freshly brewed", "Pour slowly"):
        assert f'msgid "{message}"' in pot
    assert "#: app.py:" in pot
    assert "#: templates/home.html:" in pot

    kettle("init", "fr")
    po = tmp_path / "locale" / "fr" / "LC_MESSAGES" / "messages.po"
    _translate(po, {"Tea menu": "Carte des thés", "Freshly brewed": "Fraîchement infusé"})

    # A new message in the template: update merges it in, keeping the translations.
    (tmp_path / "templates" / "home.html").write_text(HOME + "{{ _('Enjoy') }}")
    kettle("extract")
    kettle("update")
    merged = po.read_text()
    assert 'msgid "Enjoy"' in merged
    assert 'msgstr "Carte des thés"' in merged
    _translate(po, {"Pour slowly": "Versez lentement", "Enjoy": "Bonne dégustation"})

    assert "messages.mo" in kettle("compile")
    client = TestClient(_load(tmp_path))  # type: ignore[arg-type]
    french = client.get("/fr/").text
    assert french == (
        "<h1>Carte des thés</h1><p>Fraîchement infusé</p><p>Versez lentement</p>Bonne dégustation"
    )
    assert client.get("/").text.startswith("<h1>Tea menu</h1>")


def test_errors_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    nothing = runner.invoke(main, ["i18n", "extract"])
    assert nothing.exit_code == 2
    assert "there is no app.py here" in nothing.output
    (tmp_path / "app.py").write_text("")
    early = runner.invoke(main, ["i18n", "init", "fr"])
    assert "run `kettle i18n extract` first" in early.output
    assert "kettle i18n init <language>" in runner.invoke(main, ["i18n", "compile"]).output


def test_a_project_app_is_found_by_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a `kettle new` project the app is mysite/app.py: its folder holds locale/."""
    package = tmp_path / "mysite"
    (package / "templates").mkdir(parents=True)
    (package / "templates" / "page.html").write_text("{% trans %}Welcome{% endtrans %}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    result = CliRunner().invoke(main, ["i18n", "extract", "mysite/app.py"])
    assert result.exit_code == 2  # the file must exist
    (package / "app.py").write_text("")
    result = CliRunner().invoke(main, ["i18n", "extract", "mysite/app.py"])
    assert result.exit_code == 0, result.output
    assert 'msgid "Welcome"' in (package / "locale" / "messages.pot").read_text()
