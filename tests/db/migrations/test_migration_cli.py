"""How ``kettle db`` hooks into the ``kettle`` command."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from kettle.cli import _Main, main


def test_kettle_lists_the_db_group_and_its_commands() -> None:
    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0
    assert "db" in listed.output
    group = CliRunner().invoke(main, ["db", "--help"])
    assert group.exit_code == 0, group.output
    for name in ("makemigrations", "migrate", "downgrade", "history", "sql", "check", "squash"):
        assert name in group.output


def test_the_db_group_loads_only_when_used() -> None:
    code = "import sys, kettle.cli; print('sqlalchemy' in sys.modules, 'alembic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_missing_extra_says_what_to_install() -> None:
    class WithoutExtra(_Main):
        lazy = {"db": ("kettle_no_such_module", "db", "kettle[db]")}

    @click.group(cls=WithoutExtra)
    def cli() -> None:
        pass

    result = CliRunner().invoke(cli, ["db"])
    assert result.exit_code == 2
    assert "needs `pip install kettle[db]`" in result.output
