"""Every auth page renders in development (undefined template variables are errors there)
and in production: each GET page, and each form shown again with errors or throttled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site

from authpages import LOW_LIMITS, PASSWORD, visit_every_auth_page
from kettle import Settings
from kettle.auth import User

ENVIRONMENTS = {
    "development": {"env": "development"},
    "production": {
        "env": "production",
        "secret_key": "k" * 50,
        "allowed_hosts": ["testserver"],
        "session_cookie_secure": False,  # the test client speaks plain HTTP
    },
}


@pytest.fixture(params=sorted(ENVIRONMENTS))
def env_site(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Iterator[Site]:
    """The test site in each environment, on each engine, with low limits."""
    settings = Settings.load(env_file=None, **ENVIRONMENTS[request.param])
    built = make_site(tmp_path, db_url, settings=settings, **LOW_LIMITS)
    assert built.app.settings.is_debug is (request.param == "development")
    built.db.drop_all()
    built.db.create_all()
    yield built
    built.db.drop_all()
    built.db.dispose()


def test_every_auth_page_renders(env_site: Site) -> None:
    def make_user(username: str) -> User:
        return env_site.user(username, PASSWORD)

    visited = visit_every_auth_page(env_site.app, make_user)
    assert {"login", "logout", "signup", "password_change", "password_reset"} <= visited
