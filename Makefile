# Two commands set everything up on a fresh machine with Python 3.11+ and make:
#   make demo   runs the flagship demo
#   make test   runs lint, the strict type check and every test (browser tests included)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck browsers loadtools lock bench clean docs

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The news site with demo data (see examples/news): migrates and seeds news.sqlite3 on the
# first run (DATABASE_URL picks another database), prints the demo sign-ins, then serves
# http://127.0.0.1:8000/. Running it again keeps the data and whatever was changed.
demo: $(STAMP)
	cd examples/news && $(CURDIR)/$(BIN)/python -m news demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests drive the system's Chromium: installed here when missing (as root with
# apt-get); otherwise scripts/ensure-chromium says what to run and those tests fail.
browsers:
	bash scripts/ensure-chromium

# The benchmarks' smoke tests load servers with wrk, and the deployment tests put nginx in
# front of Kettle (Debian's packages), installed the same way.
loadtools:
	bash scripts/ensure-wrk
	bash scripts/ensure-nginx

# The suite runs on one pytest-xdist worker per core (at most 8; TEST_WORKERS=1 make test
# for one), a test file at a time each (tests/parallelrun.py). `pytest <file>` stays serial.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 8 ? 8 : n )))
test: lint typecheck browsers loadtools
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Regenerate requirements.lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --group dev --extra uvicorn --extra db --extra auth --extra admin --extra redis --extra tasks --extra tasks-redis --extra metrics --extra tracing --extra oidc --extra twofactor --extra passkeys --extra i18n --extra postgres --extra mysql -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site

# The docs site with the API reference (mkdocs.yml), built into site/ in strict mode:
# a broken link, a missing page or a public module left out of the reference fails it.
# Browse it with `$(BIN)/mkdocs serve`.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Kettle against its peers (see bench/README.md); results land in bench/results/.
bench:
	$(PYTHON) bench/run.py
