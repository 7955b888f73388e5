"""``kettle db dump`` and ``kettle db load`` in a project, on every engine (in subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from dbhelpers import run_kettle

APP = """
from kettle import App
from kettle.db import Database, Model, fields

app = App()
db = Database(app)


class Team(Model):
    name: str = fields.string(max_length=40, unique=True)

    class Meta:
        table_name = "cli_team"
        natural_key = ("name",)


class Player(Model):
    name: str = fields.string(max_length=40)
    team: Team = fields.foreign_key(Team, related_name="players")

    class Meta:
        table_name = "cli_player"


@app.command()
def init() -> None:
    db.create_all()
"""

SEED = [
    {"model": "cli_player", "pk": 7, "fields": {"name": "Ann", "team": ["Kettles"]}},
    {"model": "cli_team", "fields": {"name": "Kettles"}},
]


def test_load_then_dump_and_bad_files(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "seed.json").write_text(json.dumps(SEED))
    (tmp_path / "bad.json").write_text(
        json.dumps([{"model": "cli_player", "fields": {"name": "Bo", "team": ["Teapots"]}}])
    )
    engine = sa.create_engine(db_url)
    try:
        _drop(engine)
        assert run_kettle(tmp_path, db_url, "init").returncode == 0
        loaded = run_kettle(tmp_path, db_url, "db", "load", "seed.json")
        assert loaded.returncode == 0, loaded.stderr
        assert loaded.stdout.strip() == "Loaded 2 objects from seed.json."

        dumped = run_kettle(tmp_path, db_url, "db", "dump", "cli_team", "cli_player", "--indent")
        assert dumped.returncode == 0, dumped.stderr
        assert json.loads(dumped.stdout) == [SEED[1], SEED[0]]
        assert dumped.stdout.startswith('[\n  {\n    "model": "cli_team"')

        written = run_kettle(tmp_path, db_url, "db", "dump", "cli_player", "-o", "out.json")
        assert written.returncode == 0, written.stderr
        assert json.loads((tmp_path / "out.json").read_text()) == [SEED[0]]

        refused = run_kettle(tmp_path, db_url, "db", "load", "bad.json")
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            "Error: bad.json, object 1 (cli_player), field 'team': no cli_team has the "
            "natural key ['Teapots']."
        )
        unknown = run_kettle(tmp_path, db_url, "db", "dump", "Player")
        assert unknown.returncode == 1
        assert "unknown model 'Player'" in unknown.stderr
        assert "the table name 'cli_player'" in unknown.stderr
    finally:
        _drop(engine)
        engine.dispose()


def _drop(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS cli_player")
        connection.exec_driver_sql("DROP TABLE IF EXISTS cli_team")
