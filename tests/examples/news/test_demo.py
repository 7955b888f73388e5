"""``python -m news demo``: a migrated, populated site with demo sign-ins, then a server.

The commands run as a newcomer runs them (``make demo`` does ``python -m news demo`` in
examples/news), in processes of their own, against a temporary SQLite file and small
counts (seedhelpers.SMALL).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from seedhelpers import NEWS, SMALL, demo, execute, news, news_env, query, scalar

from htmlforms import csrf_from


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo' / 'news.sqlite3'}"  # the folder is made by the demo


def roles_of(url: str, username: str) -> list[str]:
    return [
        name
        for (name,) in query(
            url,
            "SELECT g.name FROM auth_group g JOIN auth_user_groups m ON m.auth_group_id = g.id"
            " JOIN auth_user u ON u.id = m.auth_user_id WHERE u.username = :name",
            name=username,
        )
    ]


def test_demo_creates_the_accounts_once_and_prints_them(url: str) -> None:
    output = demo(url)
    assert "✓ applied" in output  # the migrations ran on the new file
    assert "admin   admin / kettle-demo-admin  (created)" in output
    assert "editor  editor / kettle-demo-editor  (created)" in output
    assert f"Seed data {sum(SMALL.values()) + SMALL['users']:,} rows in" in output  # + readers
    accounts = query(
        url, "SELECT username, is_staff, is_superuser, password FROM auth_user WHERE id <= 2"
    )
    assert [row[:3] for row in accounts] == [("admin", True, True), ("editor", True, False)]
    assert all(row[3].startswith("$argon2id$") for row in accounts)
    assert (roles_of(url, "admin"), roles_of(url, "editor")) == (["admin"], ["editor"])
    hashes = "SELECT count(*) FROM auth_user WHERE password NOT LIKE '!%'"
    assert scalar(url, hashes) == 2  # seed users get no usable password (and no hashing)

    # The admin changes their password; the next run keeps it and says so.
    execute(url, "UPDATE auth_user SET password = 'changed' WHERE username = 'admin'")
    again = demo(url)
    assert "admin   admin / kettle-demo-admin  (existing account, left as it was)" in again
    assert "Seed data already there" in again
    assert scalar(url, "SELECT password FROM auth_user WHERE username = 'admin'") == "changed"
    assert scalar(url, "SELECT count(*) FROM auth_user") == SMALL["users"] + 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"accept": "text/html"})
        response = conn.getresponse()
        return response.status, response.getheader("location") or "", response.read().decode()
    finally:
        conn.close()


@pytest.fixture
def served(url: str) -> Iterator[tuple[int, list[str]]]:
    """``python -m news demo --port PORT`` running; yields the port and its output so far."""
    with serving(url) as running:
        yield running


@contextlib.contextmanager
def serving(url: str) -> Iterator[tuple[int, list[str]]]:
    """``python -m news demo --port PORT`` running while the block runs, stopped with
    Ctrl+C after it; the port and the demo's output up to serving."""
    port = _free_port()
    env = {**news_env(url), "NEWS_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "news", "demo"], cwd=NEWS, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the demo prints the site's addresses before serving
            lines.append(line)
            if line.startswith("Admin"):
                break
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        assert proc.poll() is None, "the demo stopped:\n" + "".join(lines)
        yield port, lines
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C, as a person stops it
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.server
def test_demo_serves_a_populated_site(url: str, served: tuple[int, list[str]]) -> None:
    port, lines = served
    output = "".join(lines)
    assert f"Site   http://127.0.0.1:{port}/" in output
    assert "kettle-demo-admin" in output
    assert "editor  key KETTLENEWSDEMOEDITORAUTHENTICATR" in output
    front = _get(port, "/")
    assert front[0] == 200, front[2][:500]
    assert "/articles/" in front[2]  # seeded articles are listed
    top = _get(port, "/top")
    assert top[0] == 200, top[2][:500]
    assert "/articles/" in top[2]  # "top this week" has content
    assert _get(port, "/new")[0] == 200
    status, location, _ = _get(port, "/admin/")
    assert status in (302, 303)  # nobody is signed in: on to the login page
    login = _get(port, location)
    assert login[0] == 200
    assert 'name="password"' in login[2]
    # The editor signs in with the printed password and `python -m news code editor`.
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, headers={"origin": base}) as browser:
        form = {"username": "editor", "password": "kettle-demo-editor"}
        page = browser.get("/auth/login")
        sent = browser.post("/auth/login", data={**form, "csrf_token": csrf_from(page.text)})
        assert sent.headers["location"] == "/auth/2fa"
        code = news("code", "editor", url=url).stdout.strip()
        page = browser.get("/auth/2fa/totp")
        form = {"code": code, "csrf_token": csrf_from(page.text)}
        assert browser.post("/auth/2fa/totp", data=form).status_code == 303
        assert browser.get("/admin/").status_code == 200


@pytest.mark.server
def test_demo_signs_in_with_its_stand_in_github_and_stops_it(url: str) -> None:
    with serving(url) as (port, lines):
        output = "".join(lines)
        found = re.search(r"GitHub a stand-in at (http://127\.0\.0\.1:\d+): ", output)
        assert found is not None, output
        github = found.group(1)
        assert "signs you in as octo-reader" in output
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"origin": base}) as browser:
            page = browser.get("/auth/login")
            assert "Sign in with GitHub" in page.text
            form = {"csrf_token": csrf_from(page.text), "next": "/"}
            pressed = browser.post("/auth/oidc/github/start", data=form)
            assert pressed.status_code == 303
            assert pressed.headers["location"].startswith(f"{github}/authorize?")
            consented = httpx.get(pressed.headers["location"])  # at once, as octo-reader
            assert consented.status_code == 302
            callback = consented.headers["location"]
            assert callback.startswith(f"{base}/auth/oidc/github/callback?")
            back = browser.get(callback)
            assert (back.status_code, back.headers["location"]) == (303, "/")
            linked = browser.get("/auth/identities")
            assert linked.status_code == 200
            assert "octo-reader" in linked.text
    accounts = query(url, "SELECT username, email_verified FROM auth_user WHERE email = :e",
                     e="octo-reader@github.example")  # fmt: skip
    assert [tuple(row) for row in accounts] == [("octo-reader", True)]
    with pytest.raises(httpx.ConnectError):  # the stand-in stopped with the demo
        httpx.get(f"{github}/.well-known/openid-configuration", timeout=2)
