# Kundenportal: `make dev` runs the stack, `make test` runs the tests.
# Both install first; the only thing this needs on a fresh machine is python3 (3.11+).

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')

.PHONY: setup dev reset-dev test test-fast lint bench clean

setup: $(UV)
	$(UV) sync --frozen --all-packages

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

dev: setup
	.venv/bin/portal-dev

# Drops the development database and stored mails: `make dev` then starts from nothing.
reset-dev: setup
	.venv/bin/portal-dev reset

test: setup
	.venv/bin/pytest

lint: setup
	.venv/bin/ruff check .

clean:
	rm -rf .venv .tools var .pytest_cache
