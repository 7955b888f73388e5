"""The browser tests' Chromium: ``make test`` installs it where it can, and without it the
browser tests fail saying what to run; they never skip (issue #12)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Route

from browsers import chromium, find_chromium, launched, watched_page
from servers import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "ensure-chromium"


def fake_tools(folder: Path, uid: int) -> dict[str, str]:
    """A PATH of stand-ins: ``id -u`` says ``uid``; ``apt-get`` logs its arguments and,
    when it installs, puts a ``chromium`` in ``folder``."""
    if find_chromium() is not None and "KETTLE_CHROMIUM" not in os.environ:
        pytest.skip("this machine has a Chromium where the script looks")
    folder.mkdir()
    chromium_path = folder / "chromium"
    log = folder / "apt-get.log"
    tools = {
        "id": f"#!/bin/sh\necho {uid}\n",
        "apt-get": (
            f'#!/bin/sh\necho "$@" >> {log}\n'
            f'case "$*" in *install*) printf "#!/bin/sh\\n" > {chromium_path}; '
            f"chmod +x {chromium_path};; esac\n"
        ),
    }
    for name, text in tools.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    bash = os.path.dirname(subprocess.check_output(["sh", "-c", "command -v bash"], text=True))
    return {"PATH": f"{folder}:{bash}:/usr/bin:/bin"}


def ensure(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30
    )


def test_make_test_runs_ensure_chromium_wrk_and_nginx_before_the_tests() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    [test_rule] = [line for line in makefile.splitlines() if line.startswith("test:")]
    assert {"browsers", "loadtools"} <= set(test_rule.split(":", 1)[1].split())
    assert "browsers:\n\tbash scripts/ensure-chromium\n" in makefile
    assert "loadtools:\n\tbash scripts/ensure-wrk\n\tbash scripts/ensure-nginx\n" in makefile
    assert (REPO_ROOT / ".ci" / "run").read_text().rstrip().endswith("make test")


def test_as_root_with_apt_get_it_installs_chromium(tmp_path: Path) -> None:
    done = ensure(fake_tools(tmp_path / "bin", 0))
    assert done.returncode == 0, done.stderr
    assert "installing Debian's chromium" in done.stdout
    log = (tmp_path / "bin" / "apt-get.log").read_text().splitlines()
    assert log[0].startswith("update")
    assert "install -y -qq chromium" in log[1]
    assert os.access(tmp_path / "bin" / "chromium", os.X_OK)


def test_otherwise_it_says_what_to_run(tmp_path: Path) -> None:
    done = ensure(fake_tools(tmp_path / "bin", 1000))
    assert done.returncode == 0  # the run goes on; the browser tests then fail
    assert "sudo apt-get install chromium" in done.stderr
    assert not (tmp_path / "bin" / "apt-get.log").exists()


def test_present_it_does_nothing(tmp_path: Path) -> None:
    binary = tmp_path / "chromium"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "KETTLE_CHROMIUM": str(binary)}
    done = ensure(env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == done.stderr == ""


def test_without_chromium_a_browser_test_fails_with_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETTLE_CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.fail.Exception) as failed:
        chromium()
    message = str(failed.value)
    assert "sudo apt-get install chromium" in message
    assert "KETTLE_CHROMIUM" in message


def test_the_browser_test_modules_never_skip() -> None:
    """Every module that drives a browser launches it through ``launched()``, which fails
    (never skips) without Chromium, and skips nothing itself."""
    modules = [
        path
        for path in sorted((REPO_ROOT / "tests").rglob("test_*.py"))
        if path.name != "test_browsers.py"
        and ("sync_playwright" in path.read_text() or "launched()" in path.read_text())
    ]
    assert len(modules) >= 4, modules
    for path in modules:
        source = path.read_text()
        assert "pytest.skip" not in source, path
        assert "with launched() as" in source or "executable_path=str(chromium())" in source, path
    browsers = (REPO_ROOT / "tests" / "browsers.py").read_text()
    assert "executable_path=str(chromium())" in browsers


PAGE = """<!doctype html><title>watched</title>
<script>document.title = "inline ran"</script>
<script src="/app.js"></script>
<img src="http://elsewhere.test/pixel.png">"""


def serve_offline(route: Route) -> None:
    """127.0.0.1's page under a strict policy and its script; any other host fails."""
    url = route.request.url
    if url == "http://127.0.0.1:9/":
        policy = "default-src 'self'; img-src *"
        headers = {"content-type": "text/html", "content-security-policy": policy}
        route.fulfill(body=PAGE, headers=headers)
    elif url == "http://127.0.0.1:9/app.js":
        route.fulfill(body='console.error("the app broke")', content_type="text/javascript")
    else:
        route.abort()


def test_watch_reports_violations_console_errors_and_other_hosts() -> None:
    with launched() as browser:
        context, page, seen = watched_page(browser, 800, 600)
        page.route("**/*", serve_offline)
        page.goto("http://127.0.0.1:9/")
        page.wait_for_load_state("load")
        assert page.title() == "watched"  # the inline script was blocked
        context.close()
    assert any(v.startswith("script-src-elem blocked inline") for v in seen.violations)
    assert any(v.startswith("console: ") for v in seen.violations)
    assert "console error: the app broke" in seen.problems
    assert any(p.startswith("failed: http://elsewhere.test/pixel.png") for p in seen.problems)
    assert seen.outside() == ["http://elsewhere.test/pixel.png"]
