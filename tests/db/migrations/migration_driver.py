"""Runs ``kettle db`` commands for the migration tests, each batch in a process of its own.

Models register in one global ``MetaData`` per process, so every state of a project's
models needs a fresh process. Starting Python and importing SQLAlchemy and Alembic takes
most of a second, so ``serve`` imports them once and forks a child per request::

    python migration_driver.py serve         # reads requests (JSON lines) on stdin
    python migration_driver.py once REQUEST  # one request, where fork is not available

A request is ``{"cwd", "env", "runs": [[args, stdin], ...], "out"}``; the results go to
the file ``out`` as JSON: ``[{"code", "output", "error"}, ...]``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any


def run(request: dict[str, Any]) -> None:
    """Run a request's commands here (in the current process) and write the results."""
    from click.testing import CliRunner

    from kettle.cli import main

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path.insert(0, request["cwd"])
    results = []
    for args, stdin in request["runs"]:
        result = CliRunner().invoke(main, ["db", *args], input=stdin)
        error = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            assert result.exc_info is not None
            error = "".join(traceback.format_exception(*result.exc_info))
        results.append({"code": result.exit_code, "output": result.output, "error": error})
    with open(request["out"], "w", encoding="utf-8") as out:
        json.dump(results, out)


def serve() -> None:
    """Fork a child per request line; answer ``done`` when it has finished."""
    import click.testing  # noqa: F401 - imported once here, inherited by every child

    import kettle.cli
    import kettle.db.migrations.cli  # noqa: F401

    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                run(json.loads(line))
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        print("done", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        run(json.loads(sys.argv[2]))
