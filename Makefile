# screenfuse: `make demo` and `make test` are the two commands a new user needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export SCREENFUSE_HOME ?= $(CURDIR)/data
DEMO_PEOPLE ?= 3000
DEMO_SEED ?= 20200210
DEMO_DAY ?= 2020-02-10
DEMO_LOGICAL_DATE ?= 2020-02-10T13:00:00+00:00

.PHONY: demo test ui clean venv airflow-home lock

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

airflow-home: $(AIRFLOW_HOME)/airflow.db

$(AIRFLOW_HOME)/airflow.db: | $(BIN)/.installed
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (tail -20 $(AIRFLOW_HOME)/migrate.log; exit 1)

demo: venv airflow-home
	$(BIN)/screenfuse generate --people $(DEMO_PEOPLE) --seed $(DEMO_SEED) --day $(DEMO_DAY) --out $(SCREENFUSE_HOME)/landing --truth $(SCREENFUSE_HOME)/truth
	$(BIN)/airflow dags test screenfuse_hourly $(DEMO_LOGICAL_DATE) > $(AIRFLOW_HOME)/demo-run.log 2>&1 || (tail -40 $(AIRFLOW_HOME)/demo-run.log; echo "The DAG run failed; full log: $(AIRFLOW_HOME)/demo-run.log"; exit 1)
	$(BIN)/screenfuse summary

test: venv
	$(BIN)/python -m pytest

ui: venv airflow-home
	$(BIN)/airflow standalone

# Regenerate the lock after changing requirements.txt (run in a fresh venv).
lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(SCREENFUSE_HOME) $(AIRFLOW_HOME)
