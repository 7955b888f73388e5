"""The news site: ``app`` (with ``db``, ``auth`` and ``admin``) and ``create_app``.

From ``examples/news``::

    kettle run news/app.py             # or: kettle run news.app:app
    kettle db migrate --app news.app:app

The database is SQLite in ``examples/news/news.sqlite3`` unless ``DATABASE_URL`` (or
``KETTLE_DATABASE_URL``) names another. Tests build their own app with ``create_app``::

    app = create_app(NewsSettings.load(env="testing"), database_url="sqlite:///:memory:")
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from kettle import App
from kettle.admin import AdminSite
from kettle.auth import Auth, AuthOptions, MemoryThrottleStore, RedisThrottleStore, ThrottleStore
from kettle.cache import Cache
from kettle.db import Database
from kettle.mail import MailBackend
from kettle.tasks import Tasks
from kettle.timezones import add_script_route
from news import admin as admin_pages
from news import (
    api,
    api_comments,
    api_tokens,
    api_votes,
    comments,
    errors,
    filters,
    identity,
    live,
    moderation,
    pages,
    submit,
    votes,
)
from news import tasks as background
from news.roles import agrant_reader, ensure_roles
from news.settings import NewsSettings

log = logging.getLogger("news")
#: ``examples/news``: the project root (``migrations/`` and the SQLite file live here).
PROJECT = Path(__file__).resolve().parent.parent


def default_database_url(settings: NewsSettings) -> str:
    """The settings' or the environment's URL, else SQLite in ``news.sqlite3``."""
    return (
        settings.database_url
        or os.environ.get("DATABASE_URL", "")
        or f"sqlite:///{PROJECT / 'news.sqlite3'}"
    )


def create_app(
    settings: NewsSettings | None = None,
    *,
    database_url: str | None = None,
    mail: MailBackend | None = None,
    auth_options: AuthOptions | None = None,
    throttle_store: ThrottleStore | None = None,
) -> App:
    """A new news site; ``app.state`` holds its ``db``, ``auth`` and ``admin``."""
    settings = settings if settings is not None else NewsSettings.load()
    app = App(
        "news",
        settings=settings,
        root=PROJECT,
        templates="news/templates",
        static="news/static",
    )
    db = Database(
        app,
        url=database_url or default_database_url(settings),
        models=["news.models", "kettle.tasks.models"],
    )
    if throttle_store is None:
        throttle_store = (
            RedisThrottleStore(settings.news_redis_url, prefix="news:throttle:")
            if settings.news_redis_url
            else MemoryThrottleStore()
        )
    if auth_options is None:
        auth_options = AuthOptions(
            max_signups_per_address=settings.news_signups_per_hour,
            email_verification=identity.verification_mode(settings),
        )
    # Without mail=, the backend comes from the settings: the console in development.
    auth = Auth(app, mail=mail, options=auth_options, throttle_store=throttle_store)
    # Two-factor authentication (editors and admins must), passkeys, GitHub when set up.
    identity.install(auth, settings)
    auth.on_signup(_new_reader)
    auth.on_signup(background.welcome)
    # Where tasks wait: KETTLE_TASKS_URL (the site's database by default, or redis://).
    Tasks(app)
    if settings.news_tasks == "worker":
        auth.on_password_reset(background.queue_reset_mail)
    site = AdminSite(app, title="Kettle News admin")
    admin_pages.register(site)
    errors.install(app)
    filters.install(app)
    add_script_route(app)  # /timezone.js: the reader's zone for the `localtime` filter
    for group in (
        pages.group,
        submit.group,
        comments.group,
        votes.group,
        moderation.group,
        api.group,
    ):
        app.include(group)
    api.publish(app)  # /openapi.json and /api/docs
    # Votes and comments pushed to open pages: KETTLE_BROADCAST_URL or news_redis_url.
    live.install(app, settings)
    app.state.admin = site
    # kettle.cache: each worker's memory, or Redis for all of them (KETTLE_CACHE_URL).
    cache = Cache(app, prefix=f"{settings.news_cache_prefix}:cache")
    rankings = background.make_rankings(app, settings)
    rankings.cache = Cache(backend=cache.backend, prefix=f"{cache.prefix}:rankings")
    app.state.rankings = rankings
    lists = Cache(backend=cache.backend, prefix=f"{cache.prefix}:pages")
    pages.install_page_cache(app, lists, settings.news_page_cache_seconds)
    app.on_startup(functools.partial(_ensure_roles_at_startup, app, db))
    assert api_comments.group is api.group  # their routes are on the API's group
    assert api_tokens.group is api.group
    assert api_votes.group is api.group
    assert db is app.state.db
    return app


async def _ensure_roles_at_startup(app: App, db: Database) -> None:
    """Create the roles when the app starts, if the tables are there (else: migrate)."""
    await app.run_sync(_ensure_roles, db)


def _ensure_roles(db: Database) -> None:
    try:
        with db.session():
            ensure_roles()
    except SQLAlchemyError as error:
        log.warning(
            "The news roles (reader, editor, admin) were not created: %s. Create the tables "
            "with `kettle db migrate --app news.app:app`, then restart.",
            type(error).__name__,
        )


async def _new_reader(request: object, user: object) -> None:
    await agrant_reader(user)


app = create_app()
db: Database = app.state.db
auth: Auth = app.state.auth
admin: AdminSite = app.state.admin

__all__ = ["PROJECT", "admin", "app", "auth", "create_app", "db", "default_database_url"]
