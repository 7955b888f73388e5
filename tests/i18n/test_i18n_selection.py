"""How ``I18n`` picks a request's language: URL prefix, cookie, user, Accept-Language."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from i18nsite import make_app

from kettle import App, Request
from kettle.exceptions import ConfigurationError
from kettle.i18n import I18n, active, gettext, negotiate, parse_accept_language
from kettle.responses import RedirectResponse
from kettle.testing import TestClient


@pytest.fixture
def client(root: Path) -> TestClient:
    app = App(root=root)

    @app.before_request
    async def fake_user(request: Request) -> None:
        # What kettle.auth does (and I18n must come after it): request.state.user.
        language = request.headers.get("x-user-language")
        if language is not None:
            request.state.user = SimpleNamespace(language=language, is_authenticated=True)

    I18n(app, languages=["en", "fr", "de", "es"])

    @app.get("/")
    async def home() -> str:
        return f"{active().code}:{gettext('Hello')}"

    @app.get("/articles/<int:id>", name="article")
    async def article(id: int) -> str:
        return f"{active().code} {active().prefix} {app.state.i18n.url_for('article', id=id)}"

    @app.get("/go")
    async def go(to: str = "/articles/7") -> RedirectResponse:
        return RedirectResponse(to)

    return TestClient(app)


def test_default_language_without_any_hint(client: TestClient) -> None:
    response = client.get("/")
    assert response.text == "en:Hello"
    assert response.headers["content-language"] == "en"


def test_each_selector_on_its_own(client: TestClient) -> None:
    assert client.get("/fr/").text == "fr:Bonjour"
    client.cookies.set("language", "de")
    assert client.get("/").text == "de:Hallo"
    client.cookies.clear()
    assert client.get("/", headers={"x-user-language": "fr"}).text == "fr:Bonjour"
    assert client.get("/", headers={"accept-language": "de-CH, en;q=0.5"}).text == "de:Hallo"


def test_the_order_is_url_cookie_user_header(client: TestClient) -> None:
    client.cookies.set("language", "de")
    hints = {"x-user-language": "fr", "accept-language": "es"}
    assert client.get("/fr/", headers=hints).text == "fr:Bonjour"  # URL beats cookie
    assert client.get("/", headers=hints).text == "de:Hallo"  # cookie beats user
    client.cookies.clear()
    assert client.get("/", headers=hints).text == "fr:Bonjour"  # user beats header
    assert client.get("/", headers={"accept-language": "es"}).text == "es:Hello"


def test_the_order_is_configurable(root: Path) -> None:
    app, _ = make_app(root, selectors=("header", "cookie"))

    @app.get("/")
    async def home() -> str:
        return active().code

    client = TestClient(app)
    client.cookies.set("language", "de")
    assert client.get("/", headers={"accept-language": "fr"}).text == "fr"
    assert client.get("/").text == "de"
    # "url" is not a selector here: /fr/ is just a path, and there is none.
    assert client.get("/fr/").status_code == 404


def test_unknown_values_fall_through_to_the_next_selector(client: TestClient) -> None:
    client.cookies.set("language", "klingon")
    headers = {"x-user-language": "xx", "accept-language": "de"}
    assert client.get("/", headers=headers).text == "de:Hallo"


@pytest.mark.parametrize(
    "header",
    [
        "garbage;;q=z",
        ";;;,,,",
        "fr;q=abc",
        "fr;q=0",
        "*",
        "x" * 5000,
        "fr;q=nan",
        "\u00e9\u00e8".encode(),
        "",
    ],
)
def test_bad_accept_language_gives_the_default_never_an_error(
    client: TestClient, header: str | bytes
) -> None:
    response = client.get("/", headers={"accept-language": header})
    assert response.status_code == 200
    assert response.text == "en:Hello"


def test_accept_language_parsing() -> None:
    assert parse_accept_language("fr-CA, fr;q=0.8, en;q=0.5") == ["fr-ca", "fr", "en"]
    assert parse_accept_language("en;q=0.1, de;q=0.9, es") == ["es", "de", "en"]
    assert parse_accept_language("de;q=0, fr") == ["fr"]
    assert parse_accept_language("fr;q=2") == []  # out of range: ignored
    assert parse_accept_language("EN_us") == ["en-us"]
    assert negotiate("fr-CA,en;q=0.5", ("en", "fr")) == "fr"  # fr-CA falls back to fr
    assert negotiate("pt-BR", ("en", "pt-br")) == "pt-br"
    assert negotiate("de", ("en", "de-at")) == "de-at"
    assert negotiate("ja, ko", ("en", "fr")) is None


def test_url_prefix_is_removed_before_routing_and_url_for_keeps_it(client: TestClient) -> None:
    assert client.get("/fr/articles/7").text == "fr /fr /fr/articles/7"
    assert client.get("/articles/7").text == "en  /articles/7"
    assert client.get("/de").text == "de:Hallo"  # the prefix alone is the home page
    assert client.get("/frx/").status_code == 404  # not a language: routed as it is


def test_content_language_and_vary(client: TestClient) -> None:
    by_url = client.get("/fr/")
    assert by_url.headers["content-language"] == "fr"
    assert "vary" not in by_url.headers  # the URL alone decided
    by_header = client.get("/", headers={"accept-language": "de"})
    assert by_header.headers["content-language"] == "de"
    assert by_header.headers["vary"] == "Cookie, Accept-Language"


def test_error_pages_are_in_the_chosen_language(client: TestClient) -> None:
    response = client.get("/fr/nowhere", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-language"] == "fr"
    assert '<html lang="fr">' in response.text
    assert "Introuvable" in response.text


def test_language_block_outside_requests(root: Path) -> None:
    _, i18n = make_app(root)
    assert gettext("Hello") == "Hello"
    with i18n.language("de"):
        assert gettext("Hello") == "Hallo"
        with i18n.language("FR"):
            assert gettext("Hello") == "Bonjour"
        assert active().code == "de"
    assert active().code == ""
    with pytest.raises(ValueError, match="not one of this app's languages"), i18n.language("ja"):
        pass


def test_configuration_errors_name_the_fix(root: Path) -> None:
    with pytest.raises(ConfigurationError, match="default language 'it' is not one of"):
        make_app(root, default="it")
    with pytest.raises(ConfigurationError, match="unknown selector 'session'"):
        make_app(root, selectors=("url", "session"))
    with pytest.raises(ConfigurationError, match="not a language tag"):
        make_app(root, languages=["en", "fr/../x"])
    with pytest.raises(ConfigurationError, match="Babel knows no language 'xx'"):
        make_app(root, languages=["en", "xx"])


def test_settings_give_the_languages(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kettle.settings import Settings

    monkeypatch.setenv("KETTLE_LANGUAGES", "en,fr,de")
    monkeypatch.setenv("KETTLE_LANGUAGE", "fr")
    i18n = I18n(App(root=root, settings=Settings.load()))
    assert i18n.languages == ("fr", "en", "de")
    assert i18n.default == "fr"


def test_redirects_keep_the_language_prefix(client: TestClient) -> None:
    def location(url: str) -> str:
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 302
        return response.headers["location"]

    assert location("/fr/go") == "/fr/articles/7"
    assert location("/go") == "/articles/7"
    assert location("/fr/go?to=/de/articles/7") == "/de/articles/7"  # names a language
    assert location("/fr/go?to=/en/articles/7") == "/en/articles/7"  # the default's own
    assert location("/fr/go?to=https://example.org/x") == "https://example.org/x"
    assert location("/fr/go?to=//example.org/x") == "//example.org/x"


def test_i18n_before_auth_is_refused_at_start_up(root: Path) -> None:
    app, _ = make_app(root)

    async def authenticate_request(request: Request) -> None:  # what Auth(app) registers
        request.state.user = None

    app.before_request(authenticate_request)
    with pytest.raises(ConfigurationError, match="Create I18n after Auth"), TestClient(app):
        pass
