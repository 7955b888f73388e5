"""The queries each news page runs, and the database's plan for each (news.py runs this).

    .venv/bin/python bench/news_plans.py DATABASE_URL /  /top  /new  /articles/42

It builds the news site on DATABASE_URL, requests each path in-process (Kettle's
TestClient), records the SQL the blocking engine ran for it (the site's pages are ``def``
handlers), and asks the database for the plan of every SELECT with the same parameters:
``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN ANALYZE`` on PostgreSQL. It prints one JSON
document: ``{path: {"status": 200, "queries": [{"sql", "plan", "full_scans"}]}}``.
A full scan is SQLite's ``SCAN <table>`` without an index, or PostgreSQL's ``Seq Scan``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

NEWS = Path(__file__).resolve().parents[1] / "examples" / "news"
#: A table read in full: SQLite's "SCAN t" (not "SCAN t USING INDEX"), PostgreSQL's Seq Scan.
_FULL_SCAN = {True: r"^\s*SCAN (\w+)(?! USING)(?:\s|$)", False: r"Seq Scan on (\w+)"}


def explain(connection: Any, dialect: str, sql: str, params: Any) -> list[str]:
    """The plan of SQL, one line per step (SQLite's tree indented by depth)."""
    if dialect == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return lines
    rows = connection.exec_driver_sql("EXPLAIN ANALYZE " + sql, params).all()
    return [row[0] for row in rows]


def full_scans(dialect: str, plan: list[str]) -> list[str]:
    """The tables a plan reads in full, without an index."""
    pattern = _FULL_SCAN[dialect == "sqlite"]
    return sorted({m[1] for line in plan if (m := re.search(pattern, line))})


def collect(url: str, paths: list[str]) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("KETTLE_ENV", "production")
    os.environ.setdefault("KETTLE_SECRET_KEY", "bench-secret")
    os.environ["KETTLE_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    sys.path.insert(0, str(NEWS))
    from news.app import app, db  # type: ignore[import-not-found]  # on sys.path above
    from sqlalchemy import event

    from kettle.testing import TestClient

    engine = db.sync_engine
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    result: dict[str, Any] = {}
    with TestClient(app) as client:
        for path in paths:
            seen.clear()
            status = client.get(path).status_code
            queries = list(seen)
            with engine.connect() as connection:
                plans = [explain(connection, db.dialect, sql, params) for sql, params in queries]
            result[path] = {
                "status": status,
                "queries": [
                    {"sql": sql, "plan": plan, "full_scans": full_scans(db.dialect, plan)}
                    for (sql, _), plan in zip(queries, plans, strict=True)
                ],
            }
    event.remove(engine, "before_cursor_execute", record)
    db.dispose()
    return result


if __name__ == "__main__":
    print(json.dumps(collect(sys.argv[1], sys.argv[2:])))
