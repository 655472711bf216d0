"""Test setup: a private Airflow home per test session, configured before Airflow is imported."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="screenfuse-airflow-"))
os.environ.update({
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "SCREENFUSE_SETTLE_SECONDS": "0",  # tests write files and run at once; tests of settling set their own
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


def make_id(first17: str) -> str:
    """A resident ID with a correct check character (test helper)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]
