"""gettext and friends: plural forms, contexts, lazy strings and Jinja2's trans blocks."""

from __future__ import annotations

from pathlib import Path

from i18nsite import make_app, write_catalogues
from markupsafe import Markup

from kettle.i18n import (
    gettext,
    lazy_gettext,
    lazy_ngettext,
    lazy_pgettext,
    ngettext,
    npgettext,
    pgettext,
)
from kettle.responses import render
from kettle.testing import TestClient

GREETING = lazy_gettext("Hello")  # a module constant: translated when used


def test_without_i18n_messages_are_the_source_text() -> None:
    assert gettext("Hello") == "Hello"
    assert ngettext("%(num)d apple", "%(num)d apples", 2) == "%(num)d apples"
    assert pgettext("verb", "Close") == "Close"
    assert npgettext("fruit", "apple", "apples", 1) == "apple"
    assert str(GREETING) == "Hello"


def test_plural_forms_follow_the_language(root: Path) -> None:
    _, i18n = make_app(root)
    message = ("%(num)d apple", "%(num)d apples")
    with i18n.language("fr"):
        # French uses the singular for 0 and 1.
        assert [ngettext(*message, n) % {"num": n} for n in (0, 1, 2)] == [
            "0 pomme",
            "1 pomme",
            "2 pommes",
        ]
    with i18n.language("de"):
        assert [ngettext(*message, n) % {"num": n} for n in (0, 1, 2)] == [
            "0 Äpfel",
            "1 Apfel",
            "2 Äpfel",
        ]


def test_contexts_tell_homonyms_apart(root: Path) -> None:
    _, i18n = make_app(root)
    with i18n.language("fr"):
        assert pgettext("menu", "Close") == "Fermer"
        assert pgettext("verb", "Close") == "Clore"
        assert str(lazy_pgettext("verb", "Close")) == "Clore"


def test_lazy_strings_translate_when_used(root: Path) -> None:
    _, i18n = make_app(root)
    apples = lazy_ngettext("%(num)d apple", "%(num)d apples", 3)
    with i18n.language("fr"):
        assert str(GREETING) == "Bonjour"
        assert GREETING == "Bonjour"
        assert f"{GREETING}!" == "Bonjour!"
        assert GREETING + ", Ann" == "Bonjour, Ann"
        assert "¡" + GREETING == "¡Bonjour"
        assert apples % {"num": 3} == "3 pommes"
        assert GREETING.upper() == "BONJOUR"
        assert len(GREETING) == 7
        assert Markup("<b>%s</b>") % GREETING == Markup("<b>Bonjour</b>")
    with i18n.language("de"):
        assert str(GREETING) == "Hallo"
    assert str(GREETING) == "Hello"
    assert repr(GREETING) == "lazy_gettext('Hello')"
    assert {GREETING: 1}["Hello"] == 1


def test_lazy_strings_escape_in_templates(root: Path) -> None:
    write_catalogues(root, {"fr": {"<Hello>": "<Bonjour>"}})
    app, i18n = make_app(root)
    (root / "templates" / "lazy.html").write_text("{{ label }}")
    with i18n.language("fr"):
        html = app.templates.render_string("lazy.html", label=lazy_gettext("<Hello>"))
    assert html == "&lt;Bonjour&gt;"


def test_jinja_trans_blocks(root: Path) -> None:
    (root / "templates" / "page.html").write_text(
        "{% trans %}Hello{% endtrans %}|"
        "{% trans name=user %}Hello, {{ name }}!{% endtrans %}|"
        "{% trans num=n %}{{ num }} apple{% pluralize %}{{ num }} apples{% endtrans %}|"
        "{{ _('Hello') }}|{{ pgettext('menu', 'Close') }}|"
        "{{ ngettext('%(num)d apple', '%(num)d apples', n) }}"
    )
    app, _ = make_app(root)

    @app.get("/")
    def page() -> object:
        return render("page.html", user="<Ann>", n=2)

    client = TestClient(app)
    english = client.get("/").text
    assert english == "Hello|Hello, &lt;Ann&gt;!|2 apples|Hello|Close|2 apples"
    french = client.get("/fr/").text
    assert french == "Bonjour|Bonjour, &lt;Ann&gt; !|2 pommes|Bonjour|Fermer|2 pommes"
    assert client.get("/de/").text == "Hallo|Hallo, &lt;Ann&gt;!|2 Äpfel|Hallo|Close|2 Äpfel"


def test_the_apps_catalogue_wins_over_kettles(root: Path) -> None:
    """Both catalogues translate "Not Found"; the app's own translation is the one used."""
    _, i18n = make_app(root)
    with i18n.language("fr"):
        assert gettext("Not Found") == "Introuvable (traduction de l'app)"
        # A message only Kettle's catalogue has still comes from it.
        assert gettext("Internal Server Error") == "Erreur interne du serveur"
    with i18n.language("de"):
        assert gettext("Not Found") == "Nicht gefunden"


def test_an_untranslated_language_shows_the_source(root: Path) -> None:
    _, i18n = make_app(root, languages=["en", "it"])
    with i18n.language("it"):
        assert gettext("Hello") == "Hello"


def test_kettle_and_its_templates_do_not_import_babel() -> None:
    """The core marks its messages with kettle.i18n's gettext: that must stay light."""
    import subprocess
    import sys

    code = (
        "import sys, kettle, kettle.templates, kettle.app, kettle._messages;"
        "from kettle.i18n import gettext, lazy_gettext;"
        "print(sorted(m for m in sys.modules if m.startswith('babel')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
