"""The fault suite's scenarios: one per database, built once per module (tests/faults/harness.py).
SCREENFUSE_FAULT_TRIALS sets the number of kill trials per database (`make test-faults-long`)."""
from __future__ import annotations

import os

import pytest

import harness

TRIALS = int(os.environ.get("SCREENFUSE_FAULT_TRIALS", "25"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scenario(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"faults-{request.param}")
    if request.param == "sqlite":
        yield harness.build(root, f"sqlite:///{root / 'data' / 'warehouse.db'}", "sqlite")
        return
    server = request.getfixturevalue("pg_server")
    name = server.create_database("faults")
    yield harness.build(root, server.url(name), "postgresql", server)
    server.drop_database(name)
    server.drop_database(f"{name}_snap")
