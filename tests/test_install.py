"""The install story of docs/quickstart.md, followed in a fresh virtual environment:
Kettle is not on PyPI, so it is installed from a clone (issue #12).

The guide's steps run as written, with one difference: the new environment borrows the
dependencies already installed in this one (a ``.pth`` file) rather than downloading
them, so the test stays offline for everything but Kettle's build backend.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
HELLO = """\
from kettle import App
app = App()

@app.get("/")
def index():
    return "Hello, World!"
"""
CHECK = """
from hello import app
from kettle.testing import TestClient
print(TestClient(app).get("/").text)
"""


def run(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_every_page_tells_the_same_install_story() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    wrong = [
        f"{page.name}: {line.strip()}"
        for page in pages
        for line in page.read_text(encoding="utf-8").splitlines()
        if "pip install kettle" in line or 'pip install "kettle' in line
    ]
    assert not wrong, "Kettle is not on PyPI; install it from a clone:\n" + "\n".join(wrong)
    assert "pip install -e /path/to/kettle" in QUICKSTART


@pytest.mark.server
def test_the_quickstart_install_works_in_a_fresh_environment(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    bin_dir = venv / "bin"
    purelib = run(
        bin_dir / "python",
        "-c",
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        cwd=tmp_path,
    ).strip()
    Path(purelib, "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # The guide's `pip install -e /path/to/kettle`, with this checkout as the clone.
    run(
        bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT, cwd=tmp_path
    )
    shown = run(bin_dir / "python", "-m", "pip", "show", "kettle", cwd=tmp_path)
    assert f"Editable project location: {ROOT}" in shown
    assert "Usage: kettle" in run(bin_dir / "kettle", "--help", cwd=tmp_path)
    (tmp_path / "hello.py").write_text(HELLO)
    assert HELLO in QUICKSTART  # the guide's hello.py, as it shows it
    assert run(bin_dir / "python", "-c", CHECK, cwd=tmp_path).strip() == "Hello, World!"
