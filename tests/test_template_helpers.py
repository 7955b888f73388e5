"""The helpers Kettle gives templates, as a list page uses them: in loops, in macros, many
times per render (issue #13), and ``request_helpers`` for renderers of one's own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import pytest

from kettle import App, Request, Settings, flash, render
from kettle.templates import request_helpers
from kettle.testing import TestClient

ROWS = """{% from "_row.html" import row with context %}
{% for item in items %}{% set n = loop.index %}
<form action="{{ url_for('vote', id=item) }}">{{ csrf_input() }}<a href="{{ url_for('profile',
 name='ann b') }}">{{ n }}</a><link href="{{ static('site.css') }}"></form>{{ row(item) }}
{% endfor %}
<span id="token">{{ csrf_token() }}</span>"""
ROW = """{% macro row(item) -%}
<a class="row" href="{{ url_for('vote', id=item) }}">{{ csrf_token() }}</a>
{%- endmacro %}"""


@pytest.fixture
def app(tmp_path: Path) -> App:
    (tmp_path / "templates").mkdir()
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "site.css").write_text("body {}")
    (tmp_path / "templates" / "rows.html").write_text(ROWS)
    (tmp_path / "templates" / "_row.html").write_text(ROW)
    (tmp_path / "templates" / "links.html").write_text(
        "{{ url_for('vote', id=3) }} {{ static('a b.css') }}"
    )
    app = App(root=tmp_path, settings=Settings.load(env_file=None, environ={}, env="testing"))

    @app.get("/rows")
    def rows() -> object:
        return render("rows.html", items=list(range(1, 41)))

    @app.post("/votes/<int:id>")
    def vote(id: int) -> str:
        return f"voted {id}"

    @app.get("/people/<name>")
    def profile(name: str) -> str:
        return name

    return app


@pytest.fixture
def derived(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates that copied their whole context for a helper call."""
    seen: list[str] = []
    original = jinja2.runtime.Context.derived

    def counting(self: jinja2.runtime.Context, locals: Any = None) -> jinja2.runtime.Context:
        seen.append(self.name or "")
        return original(self, locals)

    monkeypatch.setattr(jinja2.runtime.Context, "derived", counting)
    return seen


def test_a_list_page_calls_helpers_without_copying_its_context(
    app: App, derived: list[str]
) -> None:
    with TestClient(app) as client:
        response = client.get("/rows")

    assert response.status_code == 200
    text = response.text
    assert text.count('<form action="/votes/') == 40
    assert '<form action="/votes/40">' in text
    assert text.count('href="/people/ann%20b"') == 40
    assert text.count('<link href="/static/site.css">') == 40
    # Every form of the page carries the same token as csrf_token() outside the loop.
    token = re.search(r'<span id="token">([\w-]+)</span>', text)
    assert token
    assert text.count(f'name="csrf_token" value="{token[1]}"') == 40
    assert text.count('<a class="row" href="/votes/') == 40
    assert text.count(f">{token[1]}</a>") == 40
    # A @pass_context helper inside a loop with a {% set %} makes Jinja2 copy the whole
    # context on each call: 160 copies for this page before issue #13, none now.
    assert derived == []


def test_url_for_and_static_need_no_request(app: App) -> None:
    # E-mails and fragments are rendered outside a request; URLs still work there.
    app.build()

    assert app.templates.render_string("links.html") == "/votes/3 /static/a%20b.css"


def test_macros_imported_without_context_build_urls(app: App, tmp_path: Path) -> None:
    (tmp_path / "templates" / "plain.html").write_text(
        '{% import "_links.html" as links %}{{ links.vote(5) }}'
    )
    (tmp_path / "templates" / "_links.html").write_text(
        "{% macro vote(id) %}{{ url_for('vote', id=id) }} {{ static('site.css') }}{% endmacro %}"
    )

    @app.get("/plain")
    def plain() -> object:
        return render("plain.html")

    with TestClient(app) as client:
        assert client.get("/plain").text == "/votes/5 /static/site.css"


def test_a_context_variable_still_overrides_a_helper(app: App, tmp_path: Path) -> None:
    (tmp_path / "templates" / "mine.html").write_text("{{ csrf_input() }}")

    @app.get("/mine")
    def mine() -> object:
        return render("mine.html", csrf_input=lambda: "my own field")

    with TestClient(app) as client:
        assert client.get("/mine").text == "my own field"


def test_request_helpers_serve_an_environment_of_ones_own(app: App) -> None:
    env = jinja2.Environment(autoescape=True)
    page = env.from_string(
        "{{ csrf_input() }}|{{ csrf_token() }}|"
        "{% for m in get_flashed_messages(with_categories=true) %}{{ m[0] }}:{{ m[1] }}{% endfor %}"
    )

    @app.get("/own")
    def own(request: Request) -> str:
        flash(request, "Saved <b>.", "success")
        return page.render({**request_helpers(request), "request": request})

    with TestClient(app) as client:
        text = client.get("/own").text

    field, token, messages = text.split("|")
    assert field == f'<input type="hidden" name="csrf_token" value="{token}">'
    assert len(token) == 86
    assert messages == "success:Saved &lt;b&gt;."


def test_the_fallback_helpers_find_the_request_in_the_context(app: App) -> None:
    # An environment derived from the app's (the admin's, the auth pages') renders with
    # "request" among its variables and no request_helpers: the globals still work.
    env = app.templates.environment().overlay()
    page = env.from_string("{% for i in [1, 2] %}{% set n = i %}{{ csrf_input() }}{% endfor %}")

    @app.get("/overlay")
    def overlay(request: Request) -> str:
        return page.render(request=request)

    with TestClient(app) as client:
        text = client.get("/overlay").text

    tokens = re.findall(r'value="([\w-]+)"', text)
    assert len(tokens) == 2
    assert tokens[0] == tokens[1]
