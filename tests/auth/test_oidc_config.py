"""Configuring sign-in providers: credentials from the settings, and the mistakes that
stop the app at start-up with a message that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from authsite import make_site

from kettle import Settings
from kettle.auth.oidc import GitHub, Google, OIDCProvider, Providers
from kettle.exceptions import ConfigurationError


class SiteSettings(Settings):
    oidc_github_client_id: str = ""
    oidc_github_client_secret: str = ""


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'oidc.sqlite3'}"


def test_credentials_come_from_the_settings(tmp_path: Path) -> None:
    environ = {
        "KETTLE_OIDC_GITHUB_CLIENT_ID": "Iv1.8a61f9b3a7aba766",
        "KETTLE_OIDC_GITHUB_CLIENT_SECRET": "from-the-environment",
    }
    settings = SiteSettings.load(env="testing", env_file=None, environ=environ)
    site = make_site(tmp_path, sqlite(tmp_path), settings=settings)
    oidc = Providers(site.auth, [GitHub()])
    github = oidc.get("github")
    assert github is not None
    assert (github.client_id, github.client_secret) == (
        "Iv1.8a61f9b3a7aba766",
        "from-the-environment",
    )
    assert "from-the-environment" not in repr(github)  # never in logs


def test_missing_credentials_name_the_setting(tmp_path: Path) -> None:
    site = make_site(tmp_path, sqlite(tmp_path))
    with pytest.raises(ConfigurationError, match="KETTLE_OIDC_GOOGLE_CLIENT_ID"):
        Providers(site.auth, [Google()])


def test_two_providers_may_not_share_a_name(tmp_path: Path) -> None:
    site = make_site(tmp_path, sqlite(tmp_path))
    twins = [GitHub(client_id="a", client_secret="b"), GitHub(client_id="c", client_secret="d")]
    with pytest.raises(ConfigurationError, match="Two sign-in providers are named 'github'"):
        Providers(site.auth, twins)


def test_names_and_discovery_urls_are_checked() -> None:
    with pytest.raises(ValueError, match="use lower-case letters"):
        OIDCProvider("Acme ID", discovery_url="https://id.acme.example/.well-known/x")
    with pytest.raises(ValueError, match="needs discovery_url="):
        OIDCProvider("acme")
    assert OIDCProvider("acme_id", discovery_url="https://id.example/x").title == "Acme Id"
