"""`screenfuse report`: (re)build the HTML run report of a published batch (screenfuse.run_report)."""
from __future__ import annotations

import sys


def add_parser(sub) -> None:
    rp = sub.add_parser("report", help="write the HTML run report of a published batch (charts; no personal data) "
                                       "to $SCREENFUSE_HOME/reports/<batch>/index.html")
    rp.add_argument("--batch", help="the batch, e.g. 20200210T1300Z (default: the latest published one)")
    rp.set_defaults(func=_report)


def _report(args) -> int:
    from screenfuse import schema, warehouse
    from screenfuse.config import load_settings
    from screenfuse.pipeline import engine
    from screenfuse.run_report import write_report

    settings = load_settings()
    db = engine(settings)
    schema.require_current(db)
    batch = (args.batch or "").strip()
    if not batch:
        with db.connect() as conn:
            latest = warehouse.query_frame(conn, "SELECT MAX(batch_id) AS b FROM run_log")["b"].iloc[0]
        if not latest:
            print("screenfuse: error: no published run yet — fix: run a batch first (screenfuse run, or the Airflow DAG)",
                  file=sys.stderr)
            return 2
        batch = str(latest)
    try:
        path = write_report(settings, batch)
    except LookupError as exc:
        print(f"screenfuse: error: {exc}", file=sys.stderr)
        return 2
    print(f"run report of batch {batch}: {path}")
    return 0
