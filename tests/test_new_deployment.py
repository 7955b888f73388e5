"""`kettle new`'s deployment files: a Dockerfile, a compose file with PostgreSQL and Redis,
a systemd unit and an nginx site, consistent with each other and with the app they serve."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kettle.cli import main


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("deploy")
    result = CliRunner().invoke(main, ["new", "shop", "--directory", str(parent)])
    assert result.exit_code == 0, result.output
    return parent / "shop"


def test_the_dockerfile_installs_the_project_and_serves_it_in_production(shop: Path) -> None:
    dockerfile = (shop / "Dockerfile").read_text()
    instructions = [
        line.split(None, 1) for line in dockerfile.splitlines() if line and line[0].isupper()
    ]
    kinds = [kind for kind, _ in instructions]
    assert kinds[0] == "FROM"
    assert kinds.index("USER") > kinds.index("RUN")  # installs as root, runs as app
    assert "KETTLE_ENV=production" in dockerfile
    assert 'pip install --find-links /wheels -e ".[production]"' in dockerfile
    command = dict(instructions)["CMD"]
    assert command.startswith('["kettle", "run", "shop.app:app", "--production"')
    assert '"--host", "0.0.0.0"' in command
    assert "/healthz" in dict(instructions)["HEALTHCHECK"] or "/healthz" in dockerfile
    # What the image must not get: secrets, the virtual environment, the dev database.
    ignored = (shop / ".dockerignore").read_text().split()
    assert {".env", ".venv/", "*.sqlite3", ".git/"} <= set(ignored)


def test_the_compose_file_runs_migrations_then_the_app_on_postgresql_and_redis(
    shop: Path,
) -> None:
    compose = yaml.safe_load((shop / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"migrate", "web", "db", "redis"}
    web, migrate = services["web"], services["migrate"]
    assert migrate["command"] == ["kettle", "db", "migrate", "--app", "shop.app:app"]
    assert web["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert migrate["depends_on"]["db"] == {"condition": "service_healthy"}
    env = web["environment"]
    assert env["KETTLE_DATABASE_URL"].startswith("postgresql://shop:")
    assert env["KETTLE_DATABASE_URL"].endswith("@db:5432/shop")
    assert env["KETTLE_CACHE_URL"] == "redis://redis:6379/0"
    # Secrets come from .env, and compose refuses to start without them.
    for name in ("KETTLE_SECRET_KEY", "KETTLE_METRICS_TOKEN"):
        assert ":?" in env[name]
    assert ":?" in services["db"]["environment"]["POSTGRES_PASSWORD"]
    # Requests in flight get their grace period before docker kills the process.
    grace = int(env["KETTLE_SHUTDOWN_GRACE"])
    assert int(web["stop_grace_period"].rstrip("s")) > grace
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def test_the_image_gets_its_drivers(shop: Path) -> None:
    pyproject = (shop / "pyproject.toml").read_text()
    assert 'production = ["kettle[postgres,redis]"]' in pyproject
    makefile = (shop / "Makefile").read_text()
    assert "pip wheel --quiet --no-deps --wheel-dir wheels" in makefile
    assert "docker build --tag shop ." in makefile
    assert "wheels/" in (shop / ".gitignore").read_text().split()


def test_the_systemd_unit_migrates_then_runs_with_a_grace_period(shop: Path) -> None:
    unit = (shop / "deploy" / "shop.service").read_text()
    lines = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")
    )
    assert lines["ExecStartPre"].endswith("kettle db migrate --app shop.app:app")
    assert " run shop.app:app --production " in lines["ExecStart"]
    assert lines["EnvironmentFile"] == "/etc/shop/env"
    grace = int(lines["Environment"].removeprefix("KETTLE_SHUTDOWN_GRACE="))
    assert int(lines["TimeoutStopSec"]) > grace
    assert lines["KillSignal"] == "SIGTERM"


def test_the_nginx_site_proxies_with_forwarded_headers_and_retries(shop: Path) -> None:
    site = (shop / "deploy" / "nginx.conf").read_text()
    assert "upstream shop {" in site
    assert "proxy_pass http://shop;" in site
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID", "Upgrade"):
        assert f"proxy_set_header {header} " in site
    assert re.search(r"proxy_next_upstream error timeout", site)
    assert "alias /srv/shop/shop/static/;" in site
    assert "client_max_body_size" in site


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_site(shop: Path, tmp_path: Path) -> None:
    config = tmp_path / "nginx.conf"
    site = (shop / "deploy" / "nginx.conf").read_text().replace("listen 80;", "listen 8089;")
    config.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\naccess_log off;\n{site}\n}}\n"
    )
    done = subprocess.run(
        ["nginx", "-t", "-c", str(config), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_app_has_health_logs_and_metrics(shop: Path) -> None:
    app = (shop / "shop" / "app.py").read_text()
    for line in ("Health(app)", "RequestLogs(app)", "Metrics(app)"):
        assert line in app
