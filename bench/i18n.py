"""kettle.i18n (issue #19): what a translated page costs against the untranslated one.

Run from the repository root::

    .venv/bin/python bench/i18n.py                  # 30 rounds of 300 renders each
    .venv/bin/python bench/i18n.py --smoke          # a few renders: checks every row runs

Measured in one process, in CPU time, the contenders **interleaved** (block A, block B,
block A, ...; the best block of each kept, so that a busy neighbour weighs on both alike):

- **render**: a list page of 40 rows (a heading, a search form, a table with two labels
  per row, pagination) rendered by the app's Jinja2 environment. *Untranslated*: the
  English page with plain text, on an app without ``I18n``. *Translated*: the same page
  with every text marked (``{% trans %}``, ``_()``, ``ngettext``), rendered in French
  through the app's and Kettle's catalogues. Target: within 1.1x.
- **request**: the same two pages through the whole app (an in-process ASGI call: the
  French one reached as ``/fr/items``, so the language middleware, the prefix removal
  and the ``Content-Language`` hook are counted too).
- **formatted**: for reference, the translated page with each row's number written by
  ``format_number`` (Babel) instead of printed as it is: what locale formatting adds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from kettle import App, render
from kettle.i18n import I18n
from kettle.settings import Settings

ROWS = [{"name": f"Article {i}", "views": 1000 + i * 37, "draft": i % 3 == 0} for i in range(40)]

PLAIN = """<!doctype html><html lang="en"><title>Articles</title>
<h1>Articles</h1>
<form><label>Search articles</label><input name="q">
<button>Search</button></form>
<p>{{ rows|length }} articles</p>
<table><thead><tr><th>Name</th><th>Views</th>
<th>State</th></tr></thead><tbody>
{% for row in rows %}<tr><td>{{ row.name }}</td><td>{{ row.views }}</td>
<td>{% if row.draft %}Draft{% else %}Published{% endif %}</td>
<td><a href="#">Edit</a></td></tr>
{% endfor %}</tbody></table>
<nav><a href="#">Previous</a> Page 1
<a href="#">Next</a></nav>
"""
MARKED = """<!doctype html><html lang="{{ current_language() }}"><title>{{ _("Articles") }}</title>
<h1>{{ _("Articles") }}</h1>
<form><label>{{ _("Search articles") }}</label><input name="q">
<button>{{ _("Search") }}</button></form>
<p>{{ ngettext("%(num)d article", "%(num)d articles", rows|length) }}</p>
<table><thead><tr><th>{{ _("Name") }}</th><th>{{ _("Views") }}</th>
<th>{{ _("State") }}</th></tr></thead><tbody>
{% for row in rows %}<tr><td>{{ row.name }}</td><td>{{ row.views }}</td>
<td>{% if row.draft %}{{ _("Draft") }}{% else %}{{ _("Published") }}{% endif %}</td>
<td><a href="#">{% trans %}Edit{% endtrans %}</a></td></tr>
{% endfor %}</tbody></table>
<nav><a href="#">{{ _("Previous") }}</a> {% trans page=1 %}Page {{ page }}{% endtrans %}
<a href="#">{{ _("Next") }}</a></nav>
"""
FORMATTED = MARKED.replace("{{ row.views }}", "{{ row.views | format_number }}")
FRENCH = {
    "Articles": "Articles",
    "Search articles": "Rechercher des articles",
    "Search": "Rechercher",
    "Name": "Nom",
    "Views": "Vues",
    "State": "État",
    "Draft": "Brouillon",
    "Published": "Publié",
    "Edit": "Modifier",
}


def _site(folder: Path, translated: bool) -> App:
    (folder / "templates").mkdir(parents=True)
    (folder / "templates" / "plain.html").write_text(PLAIN)
    (folder / "templates" / "marked.html").write_text(MARKED)
    (folder / "templates" / "formatted.html").write_text(FORMATTED)
    settings = Settings(env="production", secret_key="b" * 50, allowed_hosts=["localhost"])
    app = App(name="bench", root=folder, settings=settings)
    if translated:
        catalog = Catalog(locale="fr", domain="messages")
        for english, french in FRENCH.items():
            catalog.add(english, french)
        catalog.add(
            ("%(num)d article", "%(num)d articles"),
            ("%(num)d article", "%(num)d articles", "%(num)d articles"),
        )
        catalog.add("Page %(page)s", "Page %(page)s")
        catalog.add("Previous", "Précédent")  # Kettle's own has "Next"
        mo = folder / "locale" / "fr" / "LC_MESSAGES" / "messages.mo"
        mo.parent.mkdir(parents=True)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        mo.write_bytes(buffer.getvalue())
        I18n(app, languages=["en", "fr"])

    @app.get("/items")
    def items() -> Any:
        return render("marked.html" if translated else "plain.html", rows=ROWS)

    return app


def _caller(app: App, path: str) -> Callable[[], None]:
    """One in-process request to ``path``, run to its last byte."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 5000),
        "server": ("localhost", 80),
    }
    loop = asyncio.new_event_loop()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message

    def call() -> None:
        loop.run_until_complete(app(dict(scope), receive, send))

    return call


def _interleaved(
    contenders: dict[str, Callable[[], object]], n: int, rounds: int
) -> dict[str, float]:
    """CPU microseconds per call of each contender's best block."""
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, fn in contenders.items():
            # NOTE: this process's CPU time, not wall time: the machine is shared, and a
            # busy neighbour stretches wall time far more than it does CPU time.
            start = time.process_time()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.process_time() - start) / n * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few renders, to check it runs")
    parser.add_argument("-n", type=int, default=300, help="renders per block")
    parser.add_argument("--rounds", type=int, default=30, help="blocks per contender")
    options = parser.parse_args()
    n, rounds = (5, 2) if options.smoke else (options.n, options.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        plain_app = _site(Path(tmp) / "plain", translated=False)
        french_app = _site(Path(tmp) / "french", translated=True)
        i18n: I18n = french_app.state.i18n
        plain_env = plain_app.templates.environment().get_template("plain.html")
        env = french_app.templates.environment()
        with i18n.language("fr"):
            # NOTE: asked for while French is active, so these are the French copies.
            marked, formatted = env.get_template("marked.html"), env.get_template("formatted.html")
            page = marked.render(rows=ROWS)
            for french in ("Brouillon", "Précédent", "Suivant", "40 articles", 'lang="fr"'):
                assert french in page, page
            assert "1\u202f037" in formatted.render(rows=ROWS)
            renders = _interleaved(
                {
                    "untranslated": lambda: plain_env.render(rows=ROWS),
                    "translated": lambda: marked.render(rows=ROWS),
                    "formatted": lambda: formatted.render(rows=ROWS),
                },
                n,
                rounds,
            )
        requests = _interleaved(
            {
                "untranslated": _caller(plain_app, "/items"),
                "translated": _caller(french_app, "/fr/items"),
            },
            max(n // 3, 2),
            rounds,
        )
    base = renders["untranslated"]
    print(f"{'row':<44}{'CPU µs':>10}{'ratio':>9}")
    for name, value in renders.items():
        print(f"{'render, ' + name:<44}{value:>10.1f}{value / base:>8.2f}x")
    base = requests["untranslated"]
    for name, value in requests.items():
        print(f"{'request, ' + name:<44}{value:>10.1f}{value / base:>8.2f}x")
    print("target: render, translated within 1.10x of untranslated")


if __name__ == "__main__":
    main()
