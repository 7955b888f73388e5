# Two commands set everything up on a fresh machine with Python 3.11+ and make:
#   make demo   runs the flagship demo
#   make test   runs lint, the strict type check and every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck lock bench clean

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

test: lint typecheck
	$(BIN)/python -m pytest

# Regenerate requirements.lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --group dev --extra uvicorn --extra db --extra auth --extra admin --extra redis --extra postgres --extra mysql -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# Kettle against its peers (see bench/README.md); results land in bench/results/.
bench:
	$(PYTHON) bench/run.py
