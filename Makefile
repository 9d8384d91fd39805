# demoseed — the README's two commands are `make snapshot` and `make test`.
# The first target that needs the virtualenv creates it and installs the
# pinned dependencies (requirements.lock), so nothing is installed by hand.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DEMOSEED := $(VENV)/bin/demoseed
STAMP := $(VENV)/.installed

SCENARIO ?= ai-success
SEED ?= 42
PROJECT ?=
SNAPSHOT ?=
DB_URL ?=
ARGS ?=

.PHONY: help venv snapshot load verify describe report browser test lint typecheck format bench clean

help:
	@echo "make snapshot SCENARIO=review-bottleneck SEED=42   build a snapshot (offline by default)"
	@echo "make snapshot PROJECT=antiwork                     a team from a real project's PRs"
	@echo "make load DB_URL=postgresql://user@host:5432/app  load a snapshot (default: data/app.duckdb)"
	@echo "make verify [SNAPSHOT=path]                        re-hash a snapshot"
	@echo "make report [SNAPSHOT=path] [ARGS=--png docs/]     the story as charts (HTML + PNGs)"
	@echo "make test | make lint | make bench"

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "error: python3.11 not found; install Python 3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

snapshot: $(STAMP)
	$(DEMOSEED) snapshot $(if $(PROJECT),--project $(PROJECT),--scenario $(SCENARIO)) --seed $(SEED) $(ARGS)

load: $(STAMP)
	@$(DEMOSEED) load $(if $(SNAPSHOT),$(SNAPSHOT),--latest) $(if $(DB_URL),--db-url '$(DB_URL)') $(ARGS)

verify: $(STAMP)
	$(DEMOSEED) verify $(if $(SNAPSHOT),$(SNAPSHOT),--all)

describe: $(STAMP)
	$(DEMOSEED) describe $(if $(SNAPSHOT),$(SNAPSHOT),--latest)

report: $(STAMP)
	$(DEMOSEED) report $(SNAPSHOT) $(ARGS)

# The headless browser the report tests open the page in (Debian's chromium); installed only when missing.
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; else \
	  SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; fi

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check pipeline stages tests bench
	$(VENV)/bin/ruff format --check pipeline stages tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format pipeline stages tests bench
	$(VENV)/bin/ruff check --fix pipeline stages tests bench

bench: $(STAMP)
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b $(ARGS); done

clean:
	rm -rf $(VENV) data/work
