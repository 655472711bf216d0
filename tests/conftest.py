"""Test setup: a private Airflow home per test session, configured before Airflow is imported; a
private PostgreSQL server per session (tests/pg_server.py) and a fresh warehouse per test or module
on SQLite and on PostgreSQL (`warehouse_url`). SCREENFUSE_TEST_PG=0 skips the PostgreSQL cases
(for developers without PostgreSQL; CI always runs them, and they fail when no server starts)."""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from pg_server import PostgresServer, PostgresUnavailable

# property tests: the same examples on every run (`make test` must not pass or fail by chance);
# HYPOTHESIS_PROFILE=explore draws new ones, many more, to look for cases nobody wrote down
hypothesis_settings.register_profile("repeatable", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", max_examples=1000, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

PROJECT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="screenfuse-airflow-"))
# the session's Airflow metadata (its runs, their XComs) goes with the session: each xdist worker
# removes its own when it exits
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ.update({
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
    # this session's own metadata database, whatever the environment names (the Makefile's)
    # (a writer waits for another's lock as the Makefile's does: the browser test's Airflow runs
    # a scheduler, a DAG processor and an API server on it)
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}?timeout=60",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "SCREENFUSE_SETTLE_SECONDS": "0",  # tests write files and run at once; tests of settling set their own
    # the run report's charts cost a second or two a run: written by the tests of the report, the
    # end-to-end scenario (which scans it for personal data) and the browser test's Airflow
    "SCREENFUSE_RUN_REPORT": "0",
})


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (SQLite) for DAG runs in tests."""
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return _AIRFLOW_HOME


@pytest.fixture
def screenfuse_home(tmp_path, monkeypatch) -> Path:
    """A private data folder (landing, warehouse, outbox) for one test."""
    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    monkeypatch.delenv("SCREENFUSE_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("SCREENFUSE_LANDING", raising=False)
    return home


@pytest.fixture(scope="session")
def pg_server():
    """A private PostgreSQL server for the session; a clear failure (not a skip) if none starts."""
    if os.environ.get("SCREENFUSE_TEST_PG") == "0":
        pytest.skip("SCREENFUSE_TEST_PG=0: PostgreSQL tests skipped")
    try:
        server = PostgresServer().start()
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"no PostgreSQL server for the tests: {exc}", pytrace=False)
    yield server
    server.stop()


class Warehouses:
    """Fresh, empty warehouses: a SQLite file in a new folder or a new database on the session's
    PostgreSQL server; `close()` drops what it made."""

    def __init__(self, request, tmp_path_factory):
        self.request, self.tmp_path_factory, self.made = request, tmp_path_factory, []

    def new(self, kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{self.tmp_path_factory.mktemp('warehouse') / 'warehouse.db'}"
        server = self.request.getfixturevalue("pg_server")
        name = server.create_database()
        self.made.append((server, name))
        return server.url(name)

    def close(self) -> None:
        from screenfuse.warehouse import engine_for

        for server, name in self.made:
            engine_for(server.url(name)).dispose()
            server.drop_database(name)


@pytest.fixture
def warehouses(request, tmp_path_factory):
    made = Warehouses(request, tmp_path_factory)
    yield made
    made.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_conn(request, warehouses):
    """A fresh warehouse at the head revision on each database, and one transaction on it."""
    from screenfuse import schema
    from screenfuse.warehouse import engine_for

    engine = engine_for(warehouses.new(request.param))
    schema.upgrade(engine)
    with engine.begin() as connection:
        yield connection


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path_factory):
    """An empty warehouse on each database, fresh for each module that uses it (the end-to-end
    scenarios are module fixtures); not migrated: tests run `screenfuse db upgrade` themselves."""
    made = Warehouses(request, tmp_path_factory)
    yield made.new(request.param)
    made.close()


def make_id(first17: str) -> str:
    """A resident ID with a correct check character (test helper)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    """A hand-made feed file (test helper): UTF-8 CSV with the given header."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pd.DataFrame(rows, columns=header).to_csv(index=False).encode("utf-8"))


def hand_made_home(tmp_path_factory, warehouse_url: str, name: str):
    """A private data folder and a migrated warehouse for a module's hand-made hours (test
    helper): (monkeypatch to undo at the end, the data folder, the warehouse engine)."""
    from screenfuse import schema
    from screenfuse.warehouse import engine_for

    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp(name) / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)
    mp.delenv("SCREENFUSE_POLICY", raising=False)
    mp.delenv("SCREENFUSE_LANDING", raising=False)
    engine = engine_for(warehouse_url)
    schema.upgrade(engine)
    return mp, home, engine


def fused_person(records: list[dict], as_of: str, policy, streets=("积玉桥街道", "粮道街道")):
    """The fused person P1 of hand-made `records` as of `as_of`, with `next_change_at` (test helper)."""
    import pandas as pd

    from screenfuse.fuse import fuse_persons, next_change

    frame = pd.DataFrame(records)
    links = pd.DataFrame({"source_record_id": frame["source_record_id"], "person_id": "P1"})
    persons = fuse_persons(frame, links, list(streets), as_of, policy)
    persons["next_change_at"] = next_change(persons, as_of, policy)
    return persons.set_index("person_id").loc["P1"]
