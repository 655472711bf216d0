"""A generated day's first load on a new warehouse, for the tests of a large batch's publish
(test_scratch_ahead on SQLite, test_publish_ahead on PostgreSQL): 400 people over five feeds and
300 of them screened, landed under the home the run reads."""
from datetime import date

import pandas as pd
import sqlalchemy as sa

from screenfuse import schema
from screenfuse.synthetic import generate
from screenfuse.synthetic_mass import generate_mass_screening
from screenfuse.warehouse import engine_for


def first_day(tmp_path, warehouses, monkeypatch, name: str, database: str, stage_process_mb: str) -> sa.Engine:
    """The day landed under tmp_path/name, the run's settings pointed at it and at a new, migrated
    warehouse of `database`; stages in processes of their own from `stage_process_mb` MB of files."""
    monkeypatch.setenv("SCREENFUSE_STAGE_PROCESS_MB", stage_process_mb)
    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / name))
    url = warehouses.new(database)
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    schema.upgrade(engine_for(url))
    home = tmp_path / name
    generate(400, 5, date(2020, 2, 10), home / "landing", home / "truth")
    people = pd.read_csv(home / "truth" / "people.csv", dtype=str, keep_default_na=False)
    generate_mass_screening(300, 11, date(2020, 2, 10), home / "landing", home / "truth", people=people)
    return engine_for(url)
