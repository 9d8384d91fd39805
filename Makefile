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
APP ?=
REMOTE ?=
REF ?=
ARGS ?=

# Every value reaches a recipe as an environment variable (DS_*), never as text
# pasted into the shell command: quotes, spaces, ';' and '$' in a value are
# data (make SCENARIO="my dir/my team.toml" works; a value cannot run a
# command). ARGS is split into words (no globbing). DB_URL goes to demoseed
# as DEMOSEED_DB_URL in its environment, never on a command line `ps` shows.
export DS_DEMOSEED = $(DEMOSEED)
export DS_PY = $(PY)
export DS_PYTHON = $(PYTHON)
export DS_VENV = $(VENV)
export DS_SCENARIO = $(value SCENARIO)
export DS_SEED = $(value SEED)
export DS_PROJECT = $(value PROJECT)
export DS_SNAPSHOT = $(value SNAPSHOT)
export DS_ARGS = $(value ARGS)
export DS_REMOTE = $(value REMOTE)
export DS_REF = $(value REF)
export DS_DB_URL = $(value DB_URL)
unexport DB_URL
export DS_APP = $(value APP)
unexport APP

# APP reaches demoseed as DEMOSEED_APP in its environment (snapshot, check, load), as DB_URL does.
APP_TO_ENV = unset APP; if [ -n "$$DS_APP" ]; then export DEMOSEED_APP="$$DS_APP"; fi; unset DS_APP;

.PHONY: help venv snapshot load check verify describe report push pull browser test test-fast lint typecheck format bench clean

help:
	@echo "make snapshot SCENARIO=review-bottleneck SEED=42   build a snapshot (offline by default)"
	@echo "make snapshot PROJECT=antiwork                     a team from a real project's PRs"
	@echo "make load DB_URL=postgresql://user@host:5432/app  load a snapshot (default: data/app.duckdb)"
	@echo "make load APP=../tformance                         into the app's database, with its model defaults"
	@echo "make check [APP=dir | DB_URL=url]                  what load would do, nothing written"
	@echo "make verify [SNAPSHOT=path]                        re-hash a snapshot"
	@echo "make report [SNAPSHOT=path] [ARGS=--png docs/]     the story as charts (HTML + PNGs)"
	@echo "make push REMOTE=s3://bucket/team [SNAPSHOT=path]  share a snapshot (default: the newest)"
	@echo "make pull REF=s3://bucket/team/NAME                fetch a shared snapshot, verified"
	@echo "make load SNAPSHOT=s3://bucket/team/NAME           load a shared snapshot (pulled first)"
	@echo "make test | make test-fast | make lint | make bench"

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -n "$$DS_PYTHON" || { echo "error: python3.11 not found; install Python 3.11" >&2; exit 2; }
	"$$DS_PYTHON" -m venv "$$DS_VENV"
	"$$DS_PY" -m pip install --quiet --disable-pip-version-check -r requirements.lock
	"$$DS_PY" -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch "$$DS_VENV/.installed"

snapshot: $(STAMP)
	@set -f; if [ -n "$$DS_PROJECT" ]; then set -- --project "$$DS_PROJECT"; else set -- --scenario "$$DS_SCENARIO"; fi; \
	$(APP_TO_ENV) \
	echo "demoseed snapshot $$* --seed $$DS_SEED $$DS_ARGS"; \
	exec "$$DS_DEMOSEED" snapshot "$$@" --seed "$$DS_SEED" $$DS_ARGS

check load: $(STAMP)
	@set -f; unset DB_URL; if [ -n "$$DS_DB_URL" ]; then export DEMOSEED_DB_URL="$$DS_DB_URL"; fi; unset DS_DB_URL; \
	$(APP_TO_ENV) \
	if [ -n "$$DS_SNAPSHOT" ]; then set -- "$$DS_SNAPSHOT"; else set -- --latest; fi; \
	exec "$$DS_DEMOSEED" $@ "$$@" $$DS_ARGS

verify: $(STAMP)
	@set -f; if [ -n "$$DS_SNAPSHOT" ]; then set -- "$$DS_SNAPSHOT"; else set -- --all; fi; \
	exec "$$DS_DEMOSEED" verify "$$@"

describe: $(STAMP)
	@set -f; if [ -n "$$DS_SNAPSHOT" ]; then set -- "$$DS_SNAPSHOT"; else set -- --latest; fi; \
	exec "$$DS_DEMOSEED" describe "$$@"

report: $(STAMP)
	@set -f; if [ -n "$$DS_SNAPSHOT" ]; then set -- "$$DS_SNAPSHOT"; else set --; fi; \
	exec "$$DS_DEMOSEED" report "$$@" $$DS_ARGS

push: $(STAMP)
	@set -f; test -n "$$DS_REMOTE" || { echo "error: give REMOTE=s3://bucket/prefix (or file:///dir); see docs/sharing.md" >&2; exit 2; }; \
	if [ -n "$$DS_SNAPSHOT" ]; then set -- "$$DS_SNAPSHOT"; else set --; fi; \
	exec "$$DS_DEMOSEED" push "$$@" "$$DS_REMOTE" $$DS_ARGS

pull: $(STAMP)
	@set -f; test -n "$$DS_REF" || { echo "error: give REF=s3://bucket/prefix/NAME ('demoseed ls REMOTE' lists them)" >&2; exit 2; }; \
	exec "$$DS_DEMOSEED" pull "$$DS_REF" $$DS_ARGS

# The headless browser the report tests open the page in (Debian's chromium); installed only when missing.
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; else \
	  SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; fi

test: $(STAMP)
	@set -f; exec "$$DS_PY" -m pytest $$DS_ARGS

# The edit-test loop: every test not marked slow (a marker expression with a
# space cannot pass through ARGS, which is split into words).
test-fast: $(STAMP)
	@set -f; exec "$$DS_PY" -m pytest -m "not slow" $$DS_ARGS

lint: $(STAMP)
	"$$DS_VENV/bin/ruff" check pipeline stages tests bench
	"$$DS_VENV/bin/ruff" format --check pipeline stages tests bench

typecheck: $(STAMP)
	"$$DS_VENV/bin/mypy"

format: $(STAMP)
	"$$DS_VENV/bin/ruff" format pipeline stages tests bench
	"$$DS_VENV/bin/ruff" check --fix pipeline stages tests bench

bench: $(STAMP)
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; (set -f; "$$DS_PY" "$$b" $$DS_ARGS); done

clean:
	rm -rf -- "$$DS_VENV" data/work
