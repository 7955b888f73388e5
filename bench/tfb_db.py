"""The TechEmpower database for tfb.py: create it, fill it, read rows back, drop it.

Runs on bench/.venv's interpreter (it needs psycopg); tfb.py, which uses only the
standard library, calls it as a script and reads one JSON document from its output:

    python tfb_db.py fill URL       # create the database if needed; (re)create both tables
    python tfb_db.py rows URL 1 42  # {"1": randomnumber, "42": randomnumber}; no ids: all
    python tfb_db.py drop URL       # drop the database

Exit code 3 means the server cannot be reached (the message says where).
"""

from __future__ import annotations

import json
import random
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg

WORLD_ROWS = 10_000
#: The Fortune table of the TechEmpower specification: twelve rows, among them one
#: in Japanese and one that a template must escape.
FORTUNES = (
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
)
SCHEMA = """
DROP TABLE IF EXISTS world;
DROP TABLE IF EXISTS fortune;
CREATE TABLE world (id integer PRIMARY KEY, randomnumber integer NOT NULL DEFAULT 0);
CREATE TABLE fortune (id integer PRIMARY KEY, message varchar(2048) NOT NULL);
"""


class Unreachable(Exception):
    """PostgreSQL does not answer at the URL."""


def _on(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def _connect(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise Unreachable(f"PostgreSQL is not reachable at {_on(url, '')}: {first}") from None


def fill(url: str) -> dict[str, object]:
    """Create the database named in URL if missing, then (re)create and fill both tables."""
    name = urlsplit(url).path.lstrip("/")
    with _connect(_on(url, "postgres")) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
        version = admin.execute("SHOW server_version").fetchone()[0]
    numbers = random.Random(20261121)
    with _connect(url) as conn:
        conn.execute(SCHEMA)
        with conn.cursor().copy("COPY world (id, randomnumber) FROM STDIN") as copy:
            for pk in range(1, WORLD_ROWS + 1):
                copy.write_row((pk, numbers.randint(1, 10_000)))
        conn.cursor().executemany("INSERT INTO fortune (id, message) VALUES (%s, %s)", FORTUNES)
        conn.execute("ANALYZE world")
        conn.execute("ANALYZE fortune")
    return {"postgresql": version, "world": WORLD_ROWS, "fortune": len(FORTUNES)}


def rows(url: str, ids: list[int]) -> dict[str, int]:
    """The randomNumber of each id in IDS (of every row if none), as the database holds it now."""
    with _connect(url) as conn:
        if ids:
            sql, params = "SELECT id, randomnumber FROM world WHERE id = ANY(%s)", (ids,)
        else:
            sql, params = "SELECT id, randomnumber FROM world", None
        found = conn.execute(sql, params).fetchall()
    return {str(pk): number for pk, number in found}


def drop(url: str) -> dict[str, object]:
    name = urlsplit(url).path.lstrip("/")
    with _connect(_on(url, "postgres")) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {"dropped": name}


def main(argv: list[str]) -> int:
    command, url, *rest = argv
    try:
        if command == "fill":
            result = fill(url)
        elif command == "rows":
            result = rows(url, [int(n) for n in rest])
        elif command == "drop":
            result = drop(url)
        else:
            raise SystemExit(f"tfb_db: unknown command {command!r}")
    except Unreachable as error:
        print(json.dumps({"error": str(error)}))
        return 3
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
