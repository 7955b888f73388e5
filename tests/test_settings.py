"""Settings: defaults, KETTLE_* variables, .env files, overrides and start-up checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from kettle import App, Settings
from kettle.exceptions import ConfigurationError
from kettle.testing import TestClient


def load(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from ``environ`` only: never the real environment or a stray ./.env."""
    return Settings.load(env_file=None, environ=environ or {}, **overrides)


# --- defaults ---------------------------------------------------------------------------
def test_defaults_are_safe_for_production() -> None:
    settings = load()

    assert settings.env == "production"
    assert settings.debug is None
    assert settings.is_debug is False
    assert settings.secret_key == ""
    assert settings.secret_key_fallbacks == []
    assert settings.allowed_hosts == []
    assert settings.csrf_enabled is True
    assert settings.session_cookie == "session"
    assert settings.session_max_age == 14 * 24 * 3600
    assert settings.session_cookie_samesite == "lax"
    assert settings.max_body_size == 16 * 1024 * 1024


def test_list_defaults_are_not_shared_between_instances() -> None:
    first, second = load(), load()
    first.allowed_hosts.append("example.com")

    assert second.allowed_hosts == []


@pytest.mark.parametrize(
    ("env", "debug", "expected"),
    [
        ("development", None, True),
        ("production", None, False),
        ("testing", None, False),
        ("production", True, True),
        ("development", False, False),
    ],
)
def test_is_debug_follows_env_unless_debug_is_set(
    env: str, debug: bool | None, expected: bool
) -> None:
    assert load(env=env, debug=debug).is_debug is expected


# --- reading KETTLE_* ---------------------------------------------------------------------
def test_environment_variables_are_converted_to_the_field_types() -> None:
    settings = load(
        {
            "KETTLE_ENV": "development",
            "KETTLE_SECRET_KEY": "s3cret",
            "KETTLE_MAX_BODY_SIZE": "1024",
            "KETTLE_CSRF_ENABLED": "false",
            "KETTLE_DEBUG": "true",
            "KETTLE_ALLOWED_HOSTS": "example.com, www.example.com,,",
            "KETTLE_SECRET_KEY_FALLBACKS": "old-1,old-2",
        }
    )

    assert settings.env == "development"
    assert settings.secret_key == "s3cret"
    assert settings.max_body_size == 1024
    assert settings.csrf_enabled is False
    assert settings.debug is True
    assert settings.allowed_hosts == ["example.com", "www.example.com"]
    assert settings.secret_key_fallbacks == ["old-1", "old-2"]


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("1", True), ("0", False)])
def test_booleans_accept_common_spellings(text: str, expected: bool) -> None:
    assert load({"KETTLE_SECURITY_HEADERS": text}).security_headers is expected


def test_variables_without_the_prefix_are_ignored() -> None:
    settings = load({"SECRET_KEY": "nope", "MAX_BODY_SIZE": "1"})

    assert settings.secret_key == ""
    assert settings.max_body_size == 16 * 1024 * 1024


def test_env_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("KETTLE_SECRET_KEY=from-file\nKETTLE_THREAD_POOL_SIZE=3\n# a comment\n")

    settings = Settings.load(env_file=env_file, environ={})

    assert settings.secret_key == "from-file"
    assert settings.thread_pool_size == 3


def test_environment_wins_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("KETTLE_SECRET_KEY=from-file\nKETTLE_SESSION_COOKIE=file_cookie\n")

    settings = Settings.load(env_file=env_file, environ={"KETTLE_SECRET_KEY": "from-env"})

    assert settings.secret_key == "from-env"
    assert settings.session_cookie == "file_cookie"


def test_overrides_win_over_environment_and_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("KETTLE_SECRET_KEY=from-file\n")

    settings = Settings.load(
        env_file=env_file, environ={"KETTLE_SECRET_KEY": "from-env"}, secret_key="from-code"
    )

    assert settings.secret_key == "from-code"


def test_missing_env_file_is_not_an_error(tmp_path: Path) -> None:
    settings = Settings.load(env_file=tmp_path / "absent.env", environ={})

    assert settings.secret_key == ""


def test_unknown_override_lists_the_known_settings() -> None:
    with pytest.raises(ConfigurationError) as info:
        load(secert_key="typo")

    message = str(info.value)
    assert "secert_key" in message
    assert "secret_key" in message.partition("known settings")[2]
    assert "allowed_hosts" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KETTLE_MAX_BODY_SIZE", "big"),
        ("KETTLE_CSRF_ENABLED", "maybe"),
        ("KETTLE_ENV", "staging"),
        ("KETTLE_SESSION_COOKIE_SAMESITE", "sometimes"),
    ],
)
def test_bad_value_names_the_variable_and_the_value(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load({name: value})

    assert name in str(info.value)
    assert repr(value) in str(info.value)


def test_bad_override_names_the_argument() -> None:
    with pytest.raises(ConfigurationError, match="max_body_size"):
        load(max_body_size="lots")


# --- subclassing ------------------------------------------------------------------------
@dataclass(kw_only=True)
class WeatherSettings(Settings):
    weather_provider: str = "offline"
    weather_timeout: int = 5
    weather_stations: list[str] | None = None


def test_subclass_fields_are_read_from_kettle_variables() -> None:
    settings = WeatherSettings.load(
        env_file=None,
        environ={
            "KETTLE_WEATHER_PROVIDER": "http",
            "KETTLE_WEATHER_TIMEOUT": "9",
            "KETTLE_WEATHER_STATIONS": "LHR,CDG",
            "KETTLE_SECRET_KEY": "k",
        },
    )

    assert isinstance(settings, WeatherSettings)
    assert settings.weather_provider == "http"
    assert settings.weather_timeout == 9
    assert settings.weather_stations == ["LHR", "CDG"]
    assert settings.secret_key == "k"


def test_subclass_defaults_and_overrides() -> None:
    assert WeatherSettings.load(env_file=None, environ={}).weather_provider == "offline"
    settings = WeatherSettings.load(env_file=None, environ={}, weather_provider="radar")
    assert settings.weather_provider == "radar"


def test_subclass_bad_value_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="KETTLE_WEATHER_TIMEOUT='soon'"):
        WeatherSettings.load(env_file=None, environ={"KETTLE_WEATHER_TIMEOUT": "soon"})


def test_subclass_as_documented_reads_its_fields() -> None:
    class DocumentedWeatherSettings(Settings):
        weather_provider: str = "offline"

    settings = DocumentedWeatherSettings.load(
        env_file=None, environ={"KETTLE_WEATHER_PROVIDER": "http"}
    )

    assert settings.weather_provider == "http"


def test_bad_list_item_names_the_variable() -> None:
    @dataclass(kw_only=True)
    class PortSettings(Settings):
        ports: list[int] | None = None

    with pytest.raises(ConfigurationError, match="KETTLE_PORTS"):
        PortSettings.load(env_file=None, environ={"KETTLE_PORTS": "8000,http"})


# --- check() ----------------------------------------------------------------------------
def test_production_without_secret_key_says_how_to_make_one() -> None:
    settings = load(env="production", allowed_hosts=["example.com"])

    with pytest.raises(ConfigurationError) as info:
        settings.check()

    message = str(info.value)
    assert "KETTLE_SECRET_KEY" in message
    assert "secrets.token_urlsafe" in message


def test_production_without_allowed_hosts_fails() -> None:
    settings = load(env="production", secret_key="k")

    with pytest.raises(ConfigurationError, match="KETTLE_ALLOWED_HOSTS"):
        settings.check()


def test_production_with_key_and_hosts_passes_unchanged() -> None:
    settings = load(env="production", secret_key="k", allowed_hosts=["example.com"])

    settings.check()

    assert settings.secret_key == "k"
    assert settings.allowed_hosts == ["example.com"]


@pytest.mark.parametrize("env", ["development", "testing"])
def test_development_and_testing_generate_a_key_and_local_hosts(env: str) -> None:
    first, second = load(env=env), load(env=env)

    first.check()
    second.check()

    assert len(first.secret_key) >= 50
    assert first.secret_key != second.secret_key
    assert "testserver" in first.allowed_hosts
    assert "localhost" in first.allowed_hosts


def test_development_keeps_a_given_key() -> None:
    settings = load(env="development", secret_key="mine")

    settings.check()

    assert settings.secret_key == "mine"


def test_app_will_not_start_in_production_without_a_key() -> None:
    app = App(settings=Settings.load(env="production", env_file=None, environ={}))

    with pytest.raises(ConfigurationError, match="KETTLE_SECRET_KEY"), TestClient(app):
        pass


def test_app_starts_in_production_with_key_and_hosts() -> None:
    settings = load(env="production", secret_key="k", allowed_hosts=["testserver"])
    app = App(settings=settings)

    @app.get("/")
    def index() -> str:
        return "up"

    with TestClient(app) as client:
        assert client.get("/").text == "up"
        assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_development_keeps_one_key_per_project_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project, other = tmp_path / "news", tmp_path / "weather"
    project.mkdir()
    other.mkdir()
    first, restarted, elsewhere = (load(env="development") for _ in range(3))

    first.check(root=project)
    restarted.check(root=project)
    elsewhere.check(root=other)

    assert len(first.secret_key) >= 50
    assert restarted.secret_key == first.secret_key
    assert elsewhere.secret_key != first.secret_key
    kept = list((tmp_path / "cache" / "kettle" / "development-keys").glob("*"))
    assert sorted(k.read_text() for k in kept) == sorted([first.secret_key, elsewhere.secret_key])
    assert {k.stat().st_mode & 0o777 for k in kept} == {0o600}
    assert not any(project.iterdir())  # nothing written into the project


def test_testing_never_keeps_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = load(env="testing"), load(env="testing")

    first.check(root=tmp_path)
    second.check(root=tmp_path)

    assert first.secret_key != second.secret_key
    assert not (tmp_path / "cache").exists()


def test_an_unwritable_cache_falls_back_to_a_random_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    first, second = load(env="development"), load(env="development")

    first.check(root=tmp_path)
    second.check(root=tmp_path)

    assert len(first.secret_key) >= 50
    assert first.secret_key != second.secret_key
