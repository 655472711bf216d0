"""The `screenfuse` command: generate synthetic feeds, run one batch without Airflow, summarize."""
from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path


def _generate(args) -> int:
    from screenfuse.synthetic import generate

    result = generate(args.people, args.seed, date.fromisoformat(args.day), Path(args.out), Path(args.truth))
    rows = ", ".join(f"{feed} {n}" for feed, n in result["rows"].items())
    print(f"generated {result['people']} people, {result['files']} files into {args.out} ({rows}); truth in {args.truth}")
    return 0


def _run(args) -> int:
    from screenfuse.config import load_settings
    from screenfuse.pipeline import run_batch

    end = datetime.fromisoformat(args.interval_end)
    if end.tzinfo is None:
        print("--interval-end needs a UTC offset, e.g. 2020-02-10T13:00:00+00:00", file=sys.stderr)
        return 2
    run = run_batch(load_settings(), end)
    print(f"batch {run['batch_id']} published: {run['rows_read']} rows read, {run['rows_accepted']} accepted, "
          f"{run['rows_quarantined']} quarantined, {run['persons']} persons, {run['push_items']} new push items")
    return 0


def _summary(args) -> int:
    from screenfuse.config import load_settings
    from screenfuse.report import summary_text

    text, ok = summary_text(load_settings())
    print(text)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="screenfuse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write one seeded synthetic day of all four feeds")
    gen.add_argument("--people", type=int, default=3000)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--day", default="2020-02-10", help="the day the feeds describe (YYYY-MM-DD)")
    gen.add_argument("--out", default="data/landing", help="landing folder (one sub-folder per feed)")
    gen.add_argument("--truth", default="data/truth", help="ground-truth folder, never read by the pipeline")
    gen.set_defaults(func=_generate)

    run = sub.add_parser("run", help="run one batch in-process, without Airflow (debugging)")
    run.add_argument("--interval-end", required=True, help="end of the hourly interval, ISO 8601 with offset")
    run.set_defaults(func=_run)

    summ = sub.add_parser("summary", help="print what the warehouse holds; exit 1 if no run was published")
    summ.set_defaults(func=_summary)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
