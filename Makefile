# screenfuse: `make demo` and `make test` are the two commands a new user needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export AIRFLOW_HOME := $(CURDIR)/.airflow
# the demo's and the UI's metadata database, set here, not kept in airflow.cfg: a moved checkout
# still finds its own (the tests make their own Airflow home: tests/conftest.py). Its scheduler,
# DAG processor, API server and the demo's commands write it at once: a writer waits up to 60 s
# for another's lock (sqlite3's default, 5 s, failed the demo's `backfill create` on a busy host)
PROJECT_AIRFLOW_DB := sqlite:///$(CURDIR)/.airflow/airflow.db?timeout=60
$(AIRFLOW_HOME)/airflow.db demo ui: export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := $(PROJECT_AIRFLOW_DB)
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export SCREENFUSE_HOME ?= $(CURDIR)/data
DEMO_PEOPLE ?= 3000
DEMO_SEED ?= 20200210
DEMO_DAY ?= 2020-02-10
DEMO_MASS ?= 5000
DEMO_ARRIVALS ?= 120
DEMO_CITY_LISTS ?= 60
DEMO_PHARMACIES ?= 200
DEMO_SELF_REPORTS ?= 150

.PHONY: demo test test-faults-long ui clean venv airflow-home lock postgresql redis chromium

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

# The demo plays the loop: four hourly runs over two synthetic days, with the street offices'
# answers (feedback) landing between runs. It starts from an empty data folder each time, so
# running it twice prints the same figures. The runs go through Airflow's scheduler and
# LocalExecutor (deploy/demo_airflow.py), as in production: the UI then shows real durations and
# every task's log, and each run's id names its batch (backfill__<interval end>).
DEMO_RUN = $(BIN)/python deploy/demo_airflow.py run
demo: export SCREENFUSE_SETTLE_SECONDS = 0
export DEMO_LOG := $(AIRFLOW_HOME)/demo-run.log
STEP = @deploy/step.sh

# the demo's pseudonym key (the analytics layer's HMAC key, docs/security.md): random, made once and
# kept beside the demo's data, never in the repository or the warehouse
DEMO_KEY = $(SCREENFUSE_HOME)/.pseudonym-key
demo: export SCREENFUSE_PSEUDONYM_KEY = $(shell cat $(DEMO_KEY) 2>/dev/null)
demo: venv airflow-home $(DEMO_KEY)
	@rm -rf $(SCREENFUSE_HOME)/landing $(SCREENFUSE_HOME)/truth $(SCREENFUSE_HOME)/outbox $(SCREENFUSE_HOME)/quarantine $(SCREENFUSE_HOME)/reports $(SCREENFUSE_HOME)/warehouse.db*
	@: > $(DEMO_LOG)
	@echo "screenfuse demo: four hourly runs over two synthetic days (every step's output: $(DEMO_LOG))"
	$(STEP) 1/11 "create the warehouse (screenfuse db upgrade)" $(BIN)/screenfuse db upgrade
	$(STEP) 2/11 "generate day 1: $(DEMO_PEOPLE) people in every feed" $(BIN)/screenfuse generate --people $(DEMO_PEOPLE) --seed $(DEMO_SEED) --day $(DEMO_DAY) --zero-reports --isolation --mass-screening $(DEMO_MASS) --arrivals $(DEMO_ARRIVALS) --city-lists $(DEMO_CITY_LISTS) --pharmacies $(DEMO_PHARMACIES) --self-report $(DEMO_SELF_REPORTS) --out $(SCREENFUSE_HOME)/landing --truth $(SCREENFUSE_HOME)/truth
	$(STEP) 3/11 "start Airflow: scheduler, API server, DAG processor" $(BIN)/python deploy/demo_airflow.py start
	$(STEP) 4/11 "run the hour ending 2020-02-10 13:00 UTC" $(DEMO_RUN) 2020-02-10T13:00:00+00:00
	$(STEP) 5/11 "street offices answer their lists" $(BIN)/screenfuse answer --outbox $(SCREENFUSE_HOME)/outbox/20200210T1300Z --out $(SCREENFUSE_HOME)/landing/feedback --seed $(DEMO_SEED) --at 2020-02-10T13:05:00
	$(STEP) 6/11 "run the hour ending 2020-02-10 14:00 UTC (the answers)" $(DEMO_RUN) 2020-02-10T14:00:00+00:00
	$(STEP) 7/11 "generate day 2: the same people a day later" $(BIN)/screenfuse generate --people $(DEMO_PEOPLE) --seed $(DEMO_SEED) --day 2020-02-11 --day-index 1 --zero-reports --isolation --arrivals $(DEMO_ARRIVALS) --city-lists $(DEMO_CITY_LISTS) --pharmacies $(DEMO_PHARMACIES) --self-report $(DEMO_SELF_REPORTS) --out $(SCREENFUSE_HOME)/landing --truth $(SCREENFUSE_HOME)/truth
	$(STEP) 8/11 "run the hour ending 2020-02-11 14:00 UTC" $(DEMO_RUN) 2020-02-11T14:00:00+00:00
	$(STEP) 9/11 "street offices answer day 2's lists" $(BIN)/screenfuse answer --outbox $(SCREENFUSE_HOME)/outbox/20200211T1400Z --out $(SCREENFUSE_HOME)/landing/feedback --seed $(DEMO_SEED) --at 2020-02-11T14:10:00
	$(STEP) 10/11 "run the hour ending 2020-02-11 15:00 UTC (the answers)" $(DEMO_RUN) 2020-02-11T15:00:00+00:00
	@$(BIN)/python deploy/demo_airflow.py stop
	@echo "[11/11] judge a retrained model on the labels (dry run), then the summary:"
	@$(BIN)/screenfuse retrain --dry-run
	@$(BIN)/screenfuse summary
	@echo "run report of the last hour: $(SCREENFUSE_HOME)/reports/20200211T1500Z/index.html; review list: $(SCREENFUSE_HOME)/outbox/20200211T1500Z/复核清单.xlsx (when pairs are open); the UI: make ui"

$(DEMO_KEY): | venv
	mkdir -p $(SCREENFUSE_HOME)
	umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@

# Two test processes (pytest-xdist) on the two cores CI has, a module at a time to each, so a
# module's scenario (a module fixture) is built once; TEST_WORKERS=0 runs every test in one process.
# The fault suite runs after, in plain processes of its own: it forks its runs, and a fork of an
# xdist worker (which has threads) can hang on a lock a thread held. With two workers it is two
# processes side by side, the PostgreSQL trials and the others (each with its own server), the
# first's output printed when both are done; TEST_WORKERS=0 runs it in one. The halves are about
# even: the server-down trials go with the SQLite ones.
TEST_WORKERS ?= 2
FAULTS_PG = postgresql and not postgresql_down
FAULTS_LOG = $(or $(TMPDIR),/tmp)/screenfuse-faults-postgresql.$$$$.log
test: venv postgresql redis chromium
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --ignore=tests/faults
	@if [ "$(TEST_WORKERS)" = 0 ]; then exec $(BIN)/python -m pytest tests/faults; fi; \
	log=$(FAULTS_LOG); $(BIN)/python -m pytest tests/faults -k "$(FAULTS_PG)" > $$log 2>&1 & pid=$$!; \
	echo "$(BIN)/python -m pytest tests/faults -k 'not ($(FAULTS_PG))' (the other half runs beside it)"; \
	$(BIN)/python -m pytest tests/faults -k "not ($(FAULTS_PG))"; mine=$$?; wait $$pid; theirs=$$?; \
	echo "$(BIN)/python -m pytest tests/faults -k '$(FAULTS_PG)'"; cat $$log; rm -f $$log; \
	exit $$(( mine || theirs ))

# The fault suite with more kill trials than `make test` runs (14 per database): the figures of
# docs/reliability.md. FAULT_TRIALS per database; about 5 s a trial on 2 cores.
FAULT_TRIALS ?= 200
test-faults-long: venv postgresql
	SCREENFUSE_FAULT_TRIALS=$(FAULT_TRIALS) $(BIN)/python -m pytest tests/faults -s -q

# The tests start a private PostgreSQL server (tests/pg_server.py) from the binaries on PATH or in
# Debian's $(PG_LIB)/<version>/bin; when there are none, the postgresql package is installed (as
# root, else through sudo). SCREENFUSE_TEST_PG=0 skips this and the PostgreSQL tests.
PG_LIB ?= /usr/lib/postgresql
postgresql:
	@if [ "$${SCREENFUSE_TEST_PG:-1}" = 0 ] || command -v initdb >/dev/null 2>&1 \
	    || ls $(PG_LIB)/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; \
	echo "PostgreSQL binaries not found: installing the postgresql package"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
	    || { echo "could not install PostgreSQL: install the postgresql package, or run SCREENFUSE_TEST_PG=0 make test"; exit 1; }

# tests/test_celery_stack.py runs Airflow's Celery stack with local processes and a private
# redis-server (the broker) from the system packages: installed like PostgreSQL when missing.
# SCREENFUSE_TEST_PG=0 skips it (the stack test needs PostgreSQL too).
redis:
	@if [ "$${SCREENFUSE_TEST_PG:-1}" = 0 ] || command -v redis-server >/dev/null 2>&1; then exit 0; fi; \
	echo "redis-server not found: installing the redis-server package"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } \
	    || { echo "could not install redis-server: install the redis-server package, or run SCREENFUSE_TEST_PG=0 make test"; exit 1; }

# The Airflow UI on this machine only. standalone starts its parts with a bare `airflow`: the venv
# goes first on PATH. The login is admin; its password is in the file named below.
UI_PORT ?= 8080
ui: venv airflow-home
	@echo "Airflow UI: http://127.0.0.1:$(UI_PORT)  user: admin  password: in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated (made on the first start)"
	PATH="$(CURDIR)/$(BIN):$$PATH" AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$(UI_PORT) \
	  AIRFLOW__API__BASE_URL=http://127.0.0.1:$(UI_PORT) $(BIN)/airflow standalone

# Regenerate the lock after changing requirements.txt (run in a fresh venv).
lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(SCREENFUSE_HOME) $(AIRFLOW_HOME)

# tests/test_ui_browser.py drives the Debian chromium package headless (and needs a CJK font for
# the Chinese labels in its screenshots): installed like PostgreSQL when missing.
# SCREENFUSE_TEST_PG=0 skips it (the UI test's Airflow keeps its metadata in PostgreSQL).
chromium:
	@if [ "$${SCREENFUSE_TEST_PG:-1}" = 0 ] || { command -v chromium >/dev/null 2>&1 \
	    && fc-list :lang=zh 2>/dev/null | grep -q .; }; then exit 0; fi; \
	echo "chromium or a CJK font not found: installing the chromium and fonts-noto-cjk packages"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; } \
	    || { echo "could not install chromium: install the chromium package, or run SCREENFUSE_TEST_PG=0 make test"; exit 1; }
