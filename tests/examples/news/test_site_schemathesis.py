"""Schemathesis fuzzes the news site's API from its own OpenAPI document, against a real
server on SQLite and on PostgreSQL: no request may get a 5xx, and every response must
match the document. Writes go with an API token; the token routes are left out (a fuzzed
``DELETE /api/tokens`` would revoke it).

Bounded: a few examples per operation (``MAX_EXAMPLES``), a fixed seed, one worker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from browserserver import SERVER_ENV
from newssite import make_site
from seedhelpers import NEWS

from kettle.auth import ApiToken, User
from servers import running_server

MAX_EXAMPLES = 25
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


def _seeded_token(url: str) -> str:
    """Accounts, an article with a comment, and an API token for ann (the raw token)."""
    site = make_site(url)
    ann = site.user("ann")
    bob = site.user("bob")
    article = site.article(bob, "Kettles compared")
    site.comment(article, bob, "First!")
    site.article(ann, "Tea at altitude")
    with site.db.session():
        _, raw = ApiToken.issue(User.objects.get(id=ann.id), "fuzzing", expires_in=None)
    site.db.dispose()
    return raw


@pytest.mark.server
@pytest.mark.timeout(300)
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_api_answers_as_its_document_says_under_fuzzing(
    engine: str, engine_urls: dict[str, str | None], tmp_path: Path
) -> None:
    url = engine_urls[engine]
    if url is None:
        pytest.skip(f"no {engine} server here (set CI=true to make this an error)")
    raw = _seeded_token(url)
    env = {**SERVER_ENV, "DATABASE_URL": url}
    with running_server(
        "news.app:app", server="uvicorn", env=env, cwd=NEWS, pythonpath=(NEWS,)
    ) as base:
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{base}/openapi.json",
            "--checks",
            CHECKS,
            "--header",
            f"Authorization: Bearer {raw}",
            "--include-path-regex",
            "^/api/",
            "--exclude-path-regex",
            "^/api/tokens",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "14",
            "--workers",
            "1",
            "--no-color",
        ]
        done = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, "\n".join(output.splitlines()[-120:])
