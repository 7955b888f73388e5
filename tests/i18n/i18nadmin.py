"""An app with kettle.db, kettle.auth, the admin and ``I18n``: Kettle's own pages in four
languages. One small model (a tea) so the admin has a list and a form to show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from kettle import App, Settings
from kettle.admin import AdminSite, ModelAdmin
from kettle.auth import Argon2Hasher, Auth, AuthOptions, User
from kettle.db import Database, Model, fields
from kettle.i18n import I18n
from kettle.mail import MemoryBackend

PASSWORD = "tea-at-altitude-1865"


class LocalTea(Model):
    name: str = fields.string(max_length=60)
    origin: str = fields.string(max_length=60, default="")
    grams: int = fields.integer(default=100)
    harvested: dt.date | None = fields.date(null=True)

    def __str__(self) -> str:
        return self.name


class LocalTeaAdmin(ModelAdmin):
    list_display = ["name", "origin", "grams", "harvested"]
    search_fields = ["name"]
    list_filter = ["harvested"]


@dataclass
class Site:
    app: App
    db: Database
    i18n: I18n
    mail: MemoryBackend


def make_site(root: Path, url: str) -> Site:
    app = App(settings=Settings.load(env="testing", env_file=None), root=root)
    db = Database(app, url=url)
    mail = MemoryBackend()
    hasher = Argon2Hasher(memory_cost=256, time_cost=1)
    Auth(app, mail=mail, options=AuthOptions(hasher=hasher))
    admin = AdminSite(app, title="Teashop")
    admin.register(LocalTea, LocalTeaAdmin)
    # NOTE: after Auth, so that the "user" selector sees request.user.
    i18n = I18n(app, languages=["en", "fr", "de", "es"])
    return Site(app, db, i18n, mail)


def seed(site: Site) -> None:
    """The tables, a superuser ``root`` and a few teas."""
    site.db.create_all()
    with site.db.session():
        user = User(username="root", email="root@example.org", is_staff=True, is_superuser=True)
        user.set_password(PASSWORD)
        user.save()
        for n, (name, origin) in enumerate(
            [("Darjeeling", "India"), ("Sencha", "Japan"), ("Assam", "India"), ("Oolong", "")]
        ):
            LocalTea.objects.create(
                name=name, origin=origin, grams=100 + 25 * n, harvested=dt.date(2026, 5, n + 1)
            )
