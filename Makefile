# The few commands people type. Everything runs from .venv/, made here from requirements.txt.
#   make demo              set up, run the nightly DAG for every day of the sample, show the report
#   make run DATE=YYYY-MM-DD   run the nightly DAG for one UTC day on the current configuration
#   make test              set up and run the whole test suite (as root on a fresh machine the
#                          browser test apt-get installs Debian's chromium; elsewhere it skips)
#   make lint              ruff check and format check
#   make bench             the throughput and memory benchmark (N=200000 by default)

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PROJECT := $(abspath .)
export AIRFLOW_HOME ?= $(PROJECT)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(PROJECT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(PROJECT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__LOGGING__LOGGING_LEVEL ?= WARNING
export SENTIMENT_HOME := $(PROJECT)
export PATH := $(PROJECT)/$(BIN):$(PATH)

SAMPLE_DAYS := 2026-11-01 2026-11-02 2026-11-03 2026-11-04 2026-11-05 2026-11-06 2026-11-07

.PHONY: demo run test lint format bench plans install airflow-db clean

# The venv is rebuilt whenever requirements.txt or pyproject.toml change.
$(BIN)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The scorer and normalize compiled by mypyc beside their Python source (sentiment_monitor.native);
# rebuilt when a source changes, and each used only while it matches its source. Without a C
# compiler the build is skipped and they run as Python.
NATIVE_SOURCES := include/sentiment_monitor/vader_fast.py include/sentiment_monitor/normalize.py \
  include/sentiment_monitor/native.py
$(BIN)/.native: $(BIN)/.installed $(NATIVE_SOURCES)
	$(BIN)/python -m sentiment_monitor.native build \
	  || echo "the compiled modules were not built: they run as Python (slower)"
	touch $@

install: $(BIN)/.installed $(BIN)/.native

# Airflow's own metadata (SQLite, project-local); migrated once, and again after upgrades.
$(AIRFLOW_HOME)/.migrated: $(BIN)/.installed
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate >/dev/null
	touch $@

# What running the DAG needs: the installed project, its compiled modules and Airflow's metadata.
airflow-db: install $(AIRFLOW_HOME)/.migrated

demo: airflow-db
	@for day in $(SAMPLE_DAYS); do \
	  echo "== nightly run for $$day"; \
	  $(BIN)/python -m sentiment_monitor.cli run-dag $$day || exit 1; \
	done
	$(BIN)/python -m sentiment_monitor.cli report

run: airflow-db
	@test -n "$(DATE)" || { echo "usage: make run DATE=YYYY-MM-DD"; exit 2; }
	$(BIN)/python -m sentiment_monitor.cli run-dag $(DATE)
	$(BIN)/python -m sentiment_monitor.cli report --day $(DATE)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# N mentions in one generated day; BENCH_ARGS adds e.g. --dag, --prefill 10000000, --workdir DIR.
N ?= 200000
BENCH_ARGS ?=
bench: airflow-db
	$(BIN)/python -m sentiment_monitor.bench --mentions $(N) $(BENCH_ARGS)

# The rows each statement of five nights (first, second, rerun, third, backfill) reads, from
# PostgreSQL's plans: PLANS_N mentions a day (PostgreSQL only, as a superuser: auto_explain).
PLANS_N ?= 30000
plans: $(BIN)/.installed
	$(BIN)/python -m sentiment_monitor.plans --mentions $(PLANS_N)

clean:
	rm -rf $(VENV) $(AIRFLOW_HOME) data/warehouse.db data/warehouse.db-* data/staging data/landing data/reports
