"""A small site for the kettle.testing tests: authors and their notes, kettle.auth."""

from __future__ import annotations

from pathlib import Path

from kettle import App, Request, Settings, render
from kettle.auth import Auth, AuthOptions, login_required
from kettle.db import Database, Model, fields
from kettle.mail import EmailMessage, mail_backend_from_settings


class KtAuthor(Model):
    """An author (table ``kt_author``)."""

    name: str = fields.string(max_length=50, unique=True)

    class Meta:
        table_name = "kt_author"


class KtNote(Model):
    """A note by an author (table ``kt_note``)."""

    text: str = fields.string(max_length=200)
    author: KtAuthor = fields.foreign_key(KtAuthor, related_name="notes")

    class Meta:
        table_name = "kt_note"


def make_app(root: Path, url: str, session_store: str = "database") -> App:
    """The site on ``url``, its sessions in the database (or signed cookies)."""
    settings = Settings.load(env_file=None, environ={}, env="testing", database_url=url)
    app = App(root=root, settings=settings, templates=Path(__file__).parent / "templates")
    Database(app)
    Auth(app, options=AuthOptions(session_store=session_store))  # type: ignore[arg-type]
    mail = mail_backend_from_settings(app.settings)

    @app.get("/notes")
    def notes() -> object:
        return render("notes.html", notes=list(KtNote.objects.select_related("author")))

    @app.post("/notes")
    def add_note(text: str, author: str) -> tuple[dict[str, object], int]:
        writer, _ = KtAuthor.objects.get_or_create(name=author)
        note = KtNote.objects.create(text=text, author=writer)
        return {"id": note.id}, 201

    @app.get("/async-notes")
    async def async_notes() -> dict[str, object]:
        return {"count": await KtNote.objects.acount()}

    @app.get("/me")
    @login_required
    def me(request: Request) -> dict[str, object]:
        return {"username": request.user.username}

    @app.post("/invite")
    async def invite(email: str) -> dict[str, object]:
        await mail.send([EmailMessage("Welcome", "Come in", to=[email])])
        return {"sent": email}

    return app
