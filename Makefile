# Two commands do everything on a fresh machine:
#   make run    create .venv, install, migrate the SQLite default, play the demo stories, serve on :8000
#   make test   create .venv, install (pip, and npm ci for axe-core), lint, type-check and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# npm's record of what `npm ci` installed: the test tools of package.json (axe-core, which the
# browser tests run in Chromium: tests/browser/axe.py). No npm: the tests cannot run, make fails.
NODE_MODULES := node_modules/.package-lock.json

.PHONY: install run test lint typecheck pytest bench clean

$(INSTALLED): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e './clients/python[test]'
	touch $(INSTALLED)

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund

install: $(INSTALLED) $(NODE_MODULES)

run: $(INSTALLED)
	$(BIN)/liveblog serve --demo

test: lint typecheck pytest

# The whole tree, as configured in pyproject.toml ([tool.ruff]; clients/python extends it).
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# liveblog/ and bench/ (pyproject.toml [tool.mypy] files), then the client with its own config.
typecheck: $(INSTALLED)
	$(BIN)/mypy
	cd clients/python && ../../$(BIN)/mypy

# The whole suite in two worker processes (pytest-xdist), each test file kept on one worker
# (its module-scoped servers and builds are made once); most tests wait on servers, browsers
# and databases more than they compute. `make pytest PYTEST_ARGS=` runs it in one process.
PYTEST_ARGS ?= -n 2 --dist loadfile

pytest: $(INSTALLED) $(NODE_MODULES)
	@echo "domain tests alone must cover every branch of liveblog/domain:"
	$(BIN)/python -m pytest tests/domain -q --cov=liveblog.domain --cov-branch \
		--cov-fail-under=100 --cov-report=term-missing:skip-covered
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(INSTALLED)
	$(BIN)/python bench/api_throughput.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache node_modules
