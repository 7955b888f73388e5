"""An app command works in a unit of work of its own, as a request does (on every engine).

The command runs in a subprocess (``kettle <name>``) on this run's database of each engine.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from dbhelpers import run_kettle

APP = '''
import click

from kettle import App
from kettle.db import Database, Model, fields

app = App()
db = Database(app)


class CommandNote(Model):
    text: str = fields.string(max_length=100)


@app.command()
def init() -> None:
    """Create the table."""
    db.create_all()


@app.command()
@click.argument("texts", nargs=-1)
def add(texts: tuple[str, ...]) -> None:
    """Add notes (def: the unit of work commits when the command returns)."""
    for text in texts:
        CommandNote.objects.create(text=text)
    click.echo(f"{CommandNote.objects.count()} notes")


@app.command()
@click.argument("text")
def add_then_fail(text: str) -> None:
    """A command that fails: its writes are rolled back."""
    CommandNote.objects.create(text=text)
    raise click.ClickException("changed my mind")


@app.command("list")
async def list_notes() -> None:
    """List the notes (async def)."""
    notes = [note.text async for note in CommandNote.objects.order_by("id")]
    click.echo(", ".join(notes))
'''


def test_commands_read_and_write_the_database(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "app.py").write_text(APP)
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS command_note")
        init = run_kettle(tmp_path, db_url, "init")
        assert init.returncode == 0, init.stderr
        added = run_kettle(tmp_path, db_url, "add", "first", "second")
        assert added.returncode == 0, added.stderr
        assert added.stdout.strip() == "2 notes"
        failed = run_kettle(tmp_path, db_url, "add-then-fail", "third")
        assert failed.returncode == 1
        assert failed.stderr.strip() == "Error: changed my mind"
        listed = run_kettle(tmp_path, db_url, "list")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.strip() == "first, second"
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS command_note")
        engine.dispose()
