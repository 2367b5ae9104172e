# Two entry points for a fresh Debian machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PICCOLO_CONF := conference.piccolo_conf
HOST ?= 127.0.0.1
PORT ?= 8000

# What WeasyPrint needs to lay out Chinese and subset fonts with HarfBuzz (fast PDFs); fonts-hanazono
# (HanaMinB) draws the CJK extension B-F characters that Noto CJK lacks (𠀁, 𪚥 in names).
RUN_PACKAGES := fonts-noto-cjk fonts-hanazono libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 libpangocairo-1.0-0 shared-mime-info
# Browser tests drive Debian's Chromium; PDF tests use poppler's pdffonts/pdftotext; backup tests on
# PostgreSQL use pg_dump, pg_restore and psql (postgresql-client, unless some version is installed);
# calendar-reply tests read a real IMAP server (dovecot-imapd, started by the tests on loopback).
PG_CLIENT := $(if $(shell command -v pg_dump 2>/dev/null),,postgresql-client)
TEST_PACKAGES := $(RUN_PACKAGES) chromium poppler-utils dovecot-imapd $(PG_CLIENT)

.PHONY: run test test-sqlite test-postgres lint bench i18n system-run system-test clean

define ensure_packages
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "安装系统软件包：$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then APT=""; elif command -v sudo >/dev/null 2>&1; then APT="sudo"; else APT="none"; fi; \
	  if [ "$$APT" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
	    echo "缺少系统软件包：$$missing" >&2; \
	    echo "请用管理员身份执行：apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	  DEBIAN_FRONTEND=noninteractive $$APT apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { $$APT apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive $$APT apt-get install -y -q --no-install-recommends $$missing; } || \
	  { echo "无法安装系统软件包：$$missing。请用管理员身份执行：apt-get install -y$$missing" >&2; exit 1; }; \
	fi
endef

system-run:
	$(call ensure_packages,$(RUN_PACKAGES))

system-test:
	$(call ensure_packages,$(TEST_PACKAGES))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.stamp-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.stamp-run

run: system-run $(VENV)/.stamp-run
	$(BIN)/conference migrate
	$(BIN)/conference demo --if-empty
	@echo "打开 http://$(HOST):$(PORT)/ （Ctrl+C 停止）"
	$(BIN)/conference serve --host $(HOST) --port $(PORT)

# SQLite first, then the same suite on PostgreSQL (skipped with a reason when no server answers,
# except under CI=true where a missing server fails the run) in reverse order: modules and the tests
# within them last to first, so that a test relying on what an earlier one left behind fails.
test: system-test $(VENV)/.stamp-dev lint test-sqlite test-postgres

test-sqlite: $(VENV)/.stamp-dev
	$(BIN)/pytest -q

test-postgres: $(VENV)/.stamp-dev
	TEST_DATABASE=postgres $(BIN)/pytest -q -m "not browser" --reverse

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check conference tests
	$(BIN)/mypy

bench: $(VENV)/.stamp-dev
	$(BIN)/python -m tests.bench

i18n: $(VENV)/.stamp-dev
	$(BIN)/pybabel extract -F babel.cfg -o conference/locale/messages.pot --no-location --sort-output .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
