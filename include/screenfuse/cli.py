"""The `screenfuse` command: synthetic feeds, warehouse schema (db), one batch without Airflow, summary,
dedupe any CSV, evaluate."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path


def _run(args) -> int:
    from screenfuse.config import load_settings
    from screenfuse.batch_state import AttemptSuperseded
    from screenfuse.pipeline import BatchOrderError, run_batch
    from screenfuse.stage_process import StageKilled
    from screenfuse.warehouse import WarehouseUnavailable

    end = datetime.fromisoformat(args.interval_end)
    if end.tzinfo is None:
        print("--interval-end needs a UTC offset, e.g. 2020-02-10T13:00:00+00:00", file=sys.stderr)
        return 2
    if args.settle is not None:
        os.environ["SCREENFUSE_SETTLE_SECONDS"] = str(args.settle)
    try:
        run = run_batch(load_settings(), end, progress=_stage_line(sys.stderr.isatty()))
    except (BatchOrderError, AttemptSuperseded, WarehouseUnavailable, StageKilled) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"batch {run['batch_id']} published: {run['rows_read']} rows read, {run['rows_accepted']} accepted, "
          f"{run['rows_quarantined']} quarantined, {run['persons']} persons, {run['push_items']} new push items; "
          f"report {run['report']}")
    if run.get("files_waiting"):
        from screenfuse.landing import settle_seconds

        print(f"{run['files_waiting']} file(s) not read yet: changed in the last {settle_seconds():g} s, they may still be "
              "being written; the next run reads them (--settle SECONDS, or SCREENFUSE_SETTLE_SECONDS, sets the wait)")
    return 0


STAGE_GROUPS = {"read_feed": "ingest"}  # the feeds read, then validated: one line for all


def _stage_line(terminal: bool):
    """Where a run is, on stderr: on a terminal one line rewritten in place; otherwise (a log, a
    script) a plain line per stage with its time, written when the stage is over."""
    import time

    state = {"stage": None, "since": time.perf_counter(), "start": time.perf_counter()}

    def progress(stage: str) -> None:
        group = STAGE_GROUPS.get(stage, stage)
        if group == state["stage"]:
            return
        now = time.perf_counter()
        if terminal:
            done = f"{state['stage']} {now - state['since']:.1f} s, " if state["stage"] else ""
            text = f"done in {now - state['start']:.1f} s" if group == "done" else f"{group} …"
            print(f"\r\033[K{done}{text}", end="\n" if group == "done" else "", file=sys.stderr, flush=True)
        else:
            if state["stage"]:
                print(f"[{state['stage']}] {now - state['since']:.1f} s", file=sys.stderr, flush=True)
            if group == "done":
                print(f"[run] done in {now - state['start']:.1f} s", file=sys.stderr, flush=True)
        state.update(stage=group, since=now)

    return progress


def _db(args) -> int:
    from screenfuse import schema
    from screenfuse.config import load_settings, safe_url
    from screenfuse.warehouse import engine_for

    url = load_settings().warehouse_url
    engine = engine_for(url)
    if args.action == "current":
        state = schema.revision(engine)
        print(state.current or "empty")
        if not state.at_head:
            print(f"warehouse at revision {state.label}, code expects {state.head} — fix: {schema.UPGRADE_HINT}",
                  file=sys.stderr)
        return 0
    if args.action == "roles":
        from screenfuse.roles import RolesError, set_up_roles

        try:
            with engine.begin() as conn:
                made = set_up_roles(conn, args.prefix, args.pipeline_role, args.analytics_role)
        except RolesError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(f"warehouse {safe_url(url)}: {args.prefix}_district and {made['street_roles']} street office roles "
              f"({args.prefix}_street_<code>), row-level security on {made['tables_with_row_security']} tables")
        return 0
    if args.action == "rekey":
        from screenfuse.pseudonyms import KEY_VARIABLE, rekey

        settings = load_settings()
        if settings.pseudonym_key is None:
            print(f"{KEY_VARIABLE} is not set: set it to the new key (secrets.token_hex(32)) and run again", file=sys.stderr)
            return 2
        schema.require_current(engine)
        with engine.begin() as conn:
            count = rekey(conn, settings.pseudonym_key)
        print(f"warehouse {safe_url(url)}: pseudonyms and age bands of {count} persons written under the current key")
        return 0
    before, after = schema.upgrade(engine)
    how = ("adopted (tables made before migrations) and upgraded" if before.unversioned
           else "already at the head" if before.current == after.current else "upgraded")
    with engine.connect() as conn:
        analytics = len(schema.analytics_view_names(conn))
    print(f"warehouse {safe_url(url)}: {before.name} → {after.name} ({how}); "
          f"{len(schema.view_names())} views and {analytics} analytics views recreated")
    return 0


def _revoke(args) -> int:
    from datetime import timezone

    from screenfuse.config import load_settings
    from screenfuse.pipeline import engine
    from screenfuse.revocation import RevocationError, revoke_not_same_person

    try:
        with engine(load_settings()).begin() as conn:
            done = revoke_not_same_person(conn, args.push_item_id.strip().upper(), args.reason, args.by,
                                          datetime.now(timezone.utc))
    except RevocationError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"非本人 answer of {args.push_item_id.strip().upper()} revoked: {done['pairs']} record pairs and "
          f"{done['labels']} labels removed; the next hourly run resolves its {done['records']} records again")
    return 0


def _retention(args) -> int:
    from screenfuse.config import load_settings
    from screenfuse.retention import RetentionDeferred, run_retention

    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")) if args.now else None
    if now is not None and now.tzinfo is None:
        print("--now needs a time zone, e.g. 2020-03-20T00:00:00Z", file=sys.stderr)
        return 2
    try:
        run = run_retention(load_settings(), now)
    except RetentionDeferred as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if run is None:
        print("the policy has no retention section: personal data is kept")
        return 0
    print(f"retention: data of {run['persons']} persons ({run['source_records']} records) older than "
          f"{run['cutoff']} removed; {run['landing_files']} landing files and {run['folders']} folders deleted; "
          f"{run['quarantine_rows']} quarantined rows and {run['answer_rows']} answers cleared")
    return 0


def _summary(args) -> int:
    from screenfuse.config import load_settings
    from screenfuse.report import summary_data, summary_text

    if args.json:
        import json

        data, ok = summary_data(load_settings())
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0 if ok else 1
    text, ok = summary_text(load_settings())
    print(text)
    return 0 if ok else 1


def _retrain(args) -> int:
    import getpass

    from screenfuse import retrain, schema
    from screenfuse.config import load_settings
    from screenfuse.matching import Model
    from screenfuse.pipeline import engine

    settings = load_settings()
    schema.require_current(engine(settings))
    candidate = Model.from_json(Path(args.model).read_text(encoding="utf-8")) if args.model else None
    options = retrain.RetrainOptions(max_records=args.max_records, min_labels=args.min_labels)
    result = retrain.retrain(settings, f"cli:{getpass.getuser()}", promote=args.promote, dry_run=args.dry_run,
                             options=options, candidate=candidate)
    print("\n".join(retrain.report_lines(result)))
    return 0


def _parser_with_help(parent: argparse.ArgumentParser):
    """Sub-commands (and theirs) format their help like the top command: defaults shown."""
    class Parser(argparse.ArgumentParser):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("formatter_class", _Help)
            super().__init__(*args, **kwargs)
    return Parser


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default (when it has one; a help that names its own
    default, one that depends on the environment, keeps it)."""

    def _get_help_string(self, action):
        if action.default is None or "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The `screenfuse` command and its sub-commands (every option with its help and default)."""
    from screenfuse import cli_dedupe, cli_generate, cli_report, cli_review

    parser = argparse.ArgumentParser(prog="screenfuse", description=__doc__, formatter_class=_Help)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (for a bug report)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_parser_with_help(parser))

    cli_generate.add_parsers(sub)

    rv = sub.add_parser("revoke", help="the district revokes a street office's 非本人 answer: its records may join "
                                       "again from the next hourly run (docs/security.md)")
    rv.add_argument("push_item_id", help="the push item answered 非本人 (推送编号)")
    rv.add_argument("--reason", required=True, help="why the answer is wrong (recorded)")
    rv.add_argument("--by", required=True, help="who revokes it (recorded)")
    rv.set_defaults(func=_revoke)

    run = sub.add_parser("run", help="run one batch in-process, without Airflow (debugging)")
    run.add_argument("--interval-end", required=True, help="end of the hourly interval, ISO 8601 with offset")
    run.add_argument("--settle", type=float, metavar="SECONDS",
                     help="read files left untouched this long (default: SCREENFUSE_SETTLE_SECONDS, else 60)")
    run.set_defaults(func=_run)

    cli_dedupe.add_parsers(sub)

    db = sub.add_parser("db", help="warehouse schema: upgrade to the code's revision (migrations), print the current "
                                   "one, or rewrite the analytics pseudonyms under a new key")
    db.add_argument("action", choices=["upgrade", "current", "rekey", "roles"],
                    help="upgrade: create or migrate the tables, recreate the views; current: print the revision or "
                         "'empty'; rekey: every person's pseudonyms under SCREENFUSE_PSEUDONYM_KEY (after rotating it); "
                         "roles (PostgreSQL, as the owner with CREATEROLE or a superuser): the district and street "
                         "office roles and row-level security (docs/security.md)")
    db.add_argument("--prefix", default="screenfuse", help="roles: names start with it (default: screenfuse)")
    db.add_argument("--pipeline-role", default="screenfuse_rw", help="roles: the runs' login role (default: screenfuse_rw)")
    db.add_argument("--analytics-role", default="screenfuse_bi",
                    help="roles: the BI tools' login role (default: screenfuse_bi)")
    db.set_defaults(func=_db)

    rn = sub.add_parser("retention", help="remove personal data the policy no longer keeps (retention."
                                          "days_after_last_measure) from the warehouse and the data folder")
    rn.add_argument("--now", help="the time to count from, UTC ISO; e.g. to test a policy (default: now)")
    rn.set_defaults(func=_retention)

    rt = sub.add_parser("retrain", help="learn a candidate model from the warehouse, compare it with the current one on "
                                        "the labels; record it (promoted only with --promote, if no worse)")
    what = rt.add_mutually_exclusive_group()
    what.add_argument("--promote", action="store_true", help="promote the candidate if it is no worse on the labels")
    what.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    rt.add_argument("--max-records", type=int, default=200_000, help="records sampled for training (memory budget)")
    rt.add_argument("--min-labels", type=int, default=20, help="labels needed before a candidate can be promoted")
    rt.add_argument("--model", help="judge this model (JSON, e.g. from dedupe --model-out) instead of training one")
    rt.set_defaults(func=_retrain)

    cli_review.add_parser(sub)
    cli_report.add_parser(sub)

    summ = sub.add_parser("summary", help="print what the warehouse holds; exit 1 if no run was published")
    summ.add_argument("--json", action="store_true", help="the same figures as one JSON document (for scripts)")
    summ.set_defaults(func=_summary)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from screenfuse.config import ConfigError
    from screenfuse.policy_types import PolicyError
    from screenfuse.schema import WarehouseSchemaError
    from screenfuse.warehouse import WarehouseUnavailable

    try:
        code = args.func(args)
        sys.stdout.flush()  # here, not at exit: a reader that went away is caught below
        return code
    except (ConfigError, WarehouseSchemaError, PolicyError, WarehouseUnavailable, FileNotFoundError) as exc:
        if args.debug:
            raise
        print(f"screenfuse: error: {_one_line(exc)}", file=sys.stderr)  # a user's mistake: one line, no traceback
        return 2
    except BrokenPipeError:  # `screenfuse summary | head`: the reader has what it wanted
        try:  # what is left in the buffer goes nowhere, instead of failing again at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):
            pass
        return 0
    except OSError as exc:  # a folder or file that cannot be used (permissions, a file in its place, a full disk)
        if args.debug or exc.filename is None or not _unusable_path(exc):
            raise  # other errors naming a path (too many open files, a name too long) are bugs: their traceback
        print(f"screenfuse: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _unusable_path(exc: OSError) -> bool:
    """An OSError a user fixes on the machine: no right to the path, a file where a folder goes (or
    the reverse), a read-only or full file system."""
    import errno

    return isinstance(exc, (PermissionError, NotADirectoryError, IsADirectoryError)) or \
        exc.errno in (errno.EROFS, errno.ENOSPC, errno.EDQUOT)


def _one_line(exc: Exception) -> str:
    """The error as one line `what — fix: what to do` (the project's messages carry their fix),
    with what was noted on it (e.g. that the batch was published before the run report failed)."""
    from screenfuse.warehouse import WarehouseUnavailable

    notes = "".join(f"; {' '.join(str(note).split())}" for note in getattr(exc, "__notes__", []))
    if isinstance(exc, FileNotFoundError):
        return f"no such file or folder: {exc.filename}{notes} — fix: check the path (relative paths start from here)"
    if isinstance(exc, OSError) and exc.filename is not None:
        where = f"{exc.filename} → {exc.filename2}" if exc.filename2 else str(exc.filename)
        return (f"cannot use {where}: {exc.strerror or type(exc).__name__}{notes} — fix: make it a folder (or file) "
                "this user can write and with room to write in (--debug shows where it was needed)")
    text = " ".join(str(exc).split()) + notes
    if isinstance(exc, WarehouseUnavailable):
        return (f"{text} — fix: check SCREENFUSE_WAREHOUSE_URL (else the SQLite warehouse in SCREENFUSE_HOME) and "
                f"that its server answers")
    return text


def console(argv: list[str] | None = None) -> int:
    """The `screenfuse` command: `main`, then an exit without the collector's passes over all that
    the run loaded. Python's shutdown collects every object it tracks several times as it clears
    the modules: 1.1 s of a 5 s hour with no new file at a million persons. Frozen objects are
    skipped (exit handlers still run, the operating system takes the memory back), so what the
    collector would have closed is closed first: the warehouse's connections."""
    import gc

    code = main(argv)
    if "screenfuse.warehouse" in sys.modules:  # a command that never opened the warehouse imports nothing
        sys.modules["screenfuse.warehouse"].close_engines()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(console())
