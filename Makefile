# opsgate: `make run` starts the demo, `make test` runs the suite. Both set up what they need.
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := .tools/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Two workers, each taking whole files (module fixtures start once). The browser tests run in
# a second, serial pass: Playwright's sync API keeps its event loop running for the rest of
# the session, so an async test that came after it on the same worker could not start its own.
PYTEST_WORKERS ?= 2

.PHONY: setup system tools venv run test check lint fmt bench clean

setup: system venv tools

system:
	@scripts/install_system.sh

$(UV):
	python3 -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled at install: the environment may set PYTHONDONTWRITEBYTECODE, and
# every subprocess of the test suite would otherwise recompile its imports.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --compile-bytecode --quiet
	@touch $@

venv: $(VENV)/.synced

tools: $(UV)
	@.tools/uv/bin/python scripts/install_tools.py

run: setup
	@$(BIN)/python -m compileall -q src >/dev/null
	$(BIN)/opsgate demo

# The tests include every check `make lint` runs, so CI (`.ci/run` -> `make test`) fails on a
# lint, type or layering error as it does on a failing test.
test: setup check
	@$(BIN)/python -m compileall -q src >/dev/null
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not browser" $(PYTEST_ARGS)
	$(BIN)/pytest -m browser $(PYTEST_ARGS)

check:
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

lint: setup check

fmt: venv
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
