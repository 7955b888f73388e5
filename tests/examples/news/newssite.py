"""What the news site's tests share: a site on one engine, accounts, and form helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyotp
from news.app import create_app
from news.identity import enrol_authenticator
from news.models import Article, Comment
from news.roles import READER, ensure_roles, grant_role
from news.settings import NewsSettings

from htmlforms import csrf_from
from kettle import App
from kettle.auth import Argon2Hasher, AuthOptions, User
from kettle.auth.twofactor import totp_model_for
from kettle.db import Database, fields
from kettle.mail import MemoryBackend
from kettle.testing import TestClient

#: Argon2id with tiny costs: the tests create many accounts.
FAST_HASHER = Argon2Hasher(memory_cost=256, time_cost=1)
PASSWORD = "tea-at-altitude-1865"
#: The authenticator of every staff account ``Site.user`` makes (editors and admins must
#: use two-factor authentication).
TOTP_SECRET = "KETTLENEWSTESTSAUTHENTICATOR2345"
#: Limits high enough never to get in the way, except where a test lowers one.
GENEROUS = {
    "news_article_rate": "1000/minute",
    "news_comment_rate": "1000/minute",
    "news_vote_rate": "1000/minute",
    "news_token_rate": "1000/minute",
    # Tests change rows and read the lists at once: no ranking is kept between requests.
    "news_rank_cache_seconds": 0,
    # ... and no list page is served from the page cache (test_site_cache.py turns it on).
    "news_page_cache_seconds": 0,
}


@dataclass
class Site:
    """The news app on one engine, with helpers to fill it and to use it."""

    app: App
    db: Database
    mail: MemoryBackend

    def close(self) -> None:
        self.db.drop_all()
        self.db.dispose()

    def user(self, username: str = "ann", role: str | None = READER, **values: Any) -> User:
        """A saved account, in ``role`` (None: no role at all). Staff (editors, admins)
        get an authenticator with ``TOTP_SECRET``, which ``client`` answers for them."""
        with self.db.session():
            user = User(username=username, email=f"{username}@example.org", **values)
            user.set_password(PASSWORD)
            user.save()
            if role is not None:
                grant_role(user, role)
            user = User.objects.get(id=user.id)
            if user.is_staff or user.is_superuser:
                self.app.build()  # NOTE: the secret key the TOTP secret is sealed with
                enrol_authenticator(user, TOTP_SECRET, self.app.settings.secret_key)
        return user

    def totp_code(self, username: str) -> str:
        """A code of ``username``'s authenticator that the site takes (each code works
        once: the record of the last one used is cleared first)."""
        with self.db.session():
            user = User.objects.get(username=username)
            totp_model_for(User).objects.filter(user_id=user.id).update(last_step=0)
        return pyotp.TOTP(TOTP_SECRET).now()

    def second_factor(self, client: TestClient, username: str) -> Any:
        """Answer the code page for ``username`` after their password."""
        page = client.get("/auth/2fa/totp")
        code = self.totp_code(username)
        return client.post(
            "/auth/2fa/totp", data={"code": code, "csrf_token": csrf_from(page.text)}
        )

    def client(self, username: str | None = None) -> TestClient:
        """A browser-like client (asks for HTML), signed in as ``username`` if given."""
        client = TestClient(self.app, headers={"accept": "text/html"})
        if username is not None:
            page = client.get("/auth/login")
            response = client.post(
                "/auth/login",
                data={
                    "username": username,
                    "password": PASSWORD,
                    "csrf_token": csrf_from(page.text),
                },
            )
            assert response.status_code == 303, response.text
            if response.headers["location"].startswith("/auth/2fa"):
                response = self.second_factor(client, username)
                assert response.status_code == 303, response.text
        return client

    def post(
        self, client: TestClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        """Post a form with a fresh CSRF token from the front page."""
        token = csrf_from(client.get("/auth/password/reset").text)
        return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)

    def article(
        self,
        author: User,
        title: str = "Why kettles whistle",
        *,
        age_hours: float = 0,
        points: int = 0,
        **values: Any,
    ) -> Article:
        """A saved article, ``age_hours`` old, with a ``points`` counter (no vote rows)."""
        values.setdefault("url", f"https://example.com/{title.lower().replace(' ', '-')}")
        values.setdefault("domain", "example.com")
        with self.db.session():
            article = Article.objects.create(
                title=title,
                author_id=author.id,
                points=points,
                created=fields.now() - dt.timedelta(hours=age_hours),
                **values,
            )
        return article

    def comment(
        self,
        article: Article,
        author: User,
        body: str = "Nice.",
        parent: Comment | None = None,
        **values: Any,
    ) -> Comment:
        """A saved comment, counted on the article."""
        from news.comments import add

        with self.db.session():
            found = Article.objects.get(id=article.id)
            comment = add(found, author.id, body, parent.id if parent else None)
            if values:
                Comment.objects.filter(id=comment.id).update(**values)
        return comment

    def get(self, model: Any, id: int) -> Any:
        with self.db.session():
            return model.objects.get(id=id)


def make_site(url: str, **settings: Any) -> Site:
    """A fresh news site on ``url``: tables created, roles made."""
    loaded = NewsSettings.load(env="testing", env_file=None, **{**GENEROUS, **settings})
    mail = MemoryBackend()
    app = create_app(
        loaded, database_url=url, mail=mail, auth_options=AuthOptions(hasher=FAST_HASHER)
    )
    db: Database = app.state.db
    db.drop_all()
    db.create_all()
    with db.session():
        ensure_roles()
    return Site(app, db, mail)
