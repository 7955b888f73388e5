"""What the auth tests share: a site (app, database, auth, mail) and form helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from htmlforms import csrf_from
from kettle import App, Settings
from kettle.auth import Argon2Hasher, Auth, AuthOptions, ThrottleStore, User
from kettle.db import Database
from kettle.mail import MemoryBackend
from kettle.testing import TestClient

#: Argon2id with tiny costs: the tests hash hundreds of passwords.
FAST_HASHER = Argon2Hasher(memory_cost=256, time_cost=1)
PASSWORD = "tea-at-altitude-1865"


@dataclass
class Site:
    """An app with kettle.db and kettle.auth on one engine."""

    app: App
    db: Database
    auth: Auth
    mail: MemoryBackend

    def user(self, username: str = "ann", password: str = PASSWORD, **values: object) -> User:
        """A saved user (committed)."""
        with self.db.session():
            user = User(**{"username": username, "email": f"{username}@example.org", **values})
            user.set_password(password)
            user.save()
        return user

    def login(self, client: TestClient, username: str = "ann", password: str = PASSWORD) -> None:
        page = client.get("/auth/login")
        response = client.post(
            "/auth/login",
            data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        )
        assert response.status_code == 303, response.text


def make_site(
    tmp_path: Path,
    url: str,
    throttle_store: ThrottleStore | None = None,
    settings: Settings | None = None,
    **options: object,
) -> Site:
    """A fresh app on ``url`` (its tables made and dropped by the caller); ``settings``
    default to the testing environment's."""
    if settings is None:
        settings = Settings.load(env="testing", env_file=None)
    app = App(settings=settings, root=tmp_path)
    db = Database(app, url=url)
    mail = MemoryBackend()
    auth = Auth(
        app,
        mail=mail,
        throttle_store=throttle_store,
        options=AuthOptions(hasher=FAST_HASHER, **options),  # type: ignore[arg-type]
    )
    return Site(app, db, auth, mail)
