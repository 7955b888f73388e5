"""The auth pages in the news site's layout (its ``templates/auth/base.html``) render in
development, where undefined template variables are errors, and in production."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from news.app import create_app
from news.roles import ensure_roles
from news.settings import NewsSettings
from newssite import FAST_HASHER, GENEROUS, PASSWORD

from authpages import LOW_LIMITS, visit_every_auth_page
from kettle import App
from kettle.auth import AuthOptions, MemoryThrottleStore, User
from kettle.db import Database
from kettle.mail import MemoryBackend

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
def env_app(request: pytest.FixtureRequest, db_url: str) -> Iterator[App]:
    """The news site in each environment, on each engine, with low auth limits."""
    settings = NewsSettings.load(env_file=None, **{**GENEROUS, **ENVIRONMENTS[request.param]})
    app = create_app(
        settings,
        database_url=db_url,
        mail=MemoryBackend(),
        auth_options=AuthOptions(hasher=FAST_HASHER, **LOW_LIMITS),
        throttle_store=MemoryThrottleStore(),
    )
    db: Database = app.state.db
    db.drop_all()
    db.create_all()
    with db.session():
        ensure_roles()
    yield app
    db.drop_all()
    db.dispose()


def test_every_auth_page_renders_in_the_sites_layout(env_app: App) -> None:
    db: Database = env_app.state.db

    def make_user(username: str) -> User:
        with db.session():
            user = User(username=username, email=f"{username}@example.org")
            user.set_password(PASSWORD)
            user.save()
        return user

    visited = visit_every_auth_page(env_app, make_user)
    assert {"login", "signup", "password_reset", "password_reset_confirm"} <= visited
