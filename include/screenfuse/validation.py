"""Great Expectations suites, written as code from the feed contracts, run in an ephemeral context.

Two suites per feed: a file-level one on the header-mapped file (required columns present; a
file with the header only is a zero report) and a row-level one on the normalized records. Each expectation carries the
quarantine reason a failing row or file is given; reasons never contain row values.
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

import pandas as pd

from screenfuse import datetimes, forked
from screenfuse.contracts import FeedContract

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

# document: another document's number (passport, permit); set_aside: an unusable number dropped
# from a row that still says who the person is (row_fields.set_aside_reasons); other_document: rows of
# older releases
ACCEPTED_ID_STATUSES = ["valid", "failed_check", "converted_15", "missing", "document", "set_aside", "other_document"]
TEMPERATURE_RANGE = (34.0, 43.0)


def import_gx() -> None:
    """Great Expectations imported, nothing run: no Python thread is started (running a suite starts
    one), so the process may still fork."""
    import great_expectations  # noqa: F401


GX_BESIDE_FROM = 100_000  # persons a publish audits: from this many, Great Expectations is imported beside


class ImportBeside:
    """A large publish's import of Great Expectations (2 to 3 s of a core), begun (`start`) in a
    thread of its own while the publish copies its tables (SQLite and the PostgreSQL driver let the
    interpreter go while they work); the audit's `import` waits for it to be done, and so does the
    end of the block, whatever ends it: nothing may fork beside an import in progress (the child
    could inherit its locks)."""

    def __init__(self):
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ImportBeside:
        return self

    def start(self) -> None:
        if self._thread is None and "great_expectations" not in sys.modules:
            self._thread = threading.Thread(target=import_gx, name="import great_expectations", daemon=True)
            self._thread.start()

    def __exit__(self, *_) -> None:
        if self._thread is not None:
            self._thread.join()


@dataclass(frozen=True)
class Check:
    expectation: object  # a gx.expectations.Expectation
    reason: str


def _context():
    import great_expectations as gx
    from great_expectations.execution_engine import pandas_execution_engine
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # GX fingerprints each pandas batch under this many bytes (a hash of every value, kept in the
    # batch's markers): metadata nothing here reads, and two thirds of the row suite's time (the
    # 996,003 rows of a first load's mass-screening feed: 1.7 → 0.6 s)
    pandas_execution_engine.HASH_THRESHOLD = 0
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _run(frame: pd.DataFrame, suite_name: str, checks: list[Check]):
    """Validate `frame` against `checks`; return GX's results in the order of `checks`."""
    return next(_run_each([frame], suite_name, checks))


def _run_each(frames, suite_name: str, checks: list[Check]):
    """GX's results (in the order of `checks`) for each frame of `frames` in turn, with one suite:
    GX lets an expectation belong to one suite only."""
    import great_expectations as gx

    context = _context()
    batches = context.data_sources.add_pandas("screenfuse").add_dataframe_asset(suite_name) \
        .add_batch_definition_whole_dataframe("whole")
    suite = gx.ExpectationSuite(name=suite_name)
    for check in checks:
        check.expectation.meta = {"reason": check.reason}
        suite.add_expectation(check.expectation)
    suite = context.suites.add(suite)
    for frame in frames:
        result = batches.get_batch(batch_parameters={"dataframe": frame}).validate(
            suite, result_format={"result_format": "COMPLETE"})
        by_reason = {r.expectation_config.meta["reason"]: r for r in result.results}
        yield [by_reason[c.reason] for c in checks]


def file_checks(contract: FeedContract) -> list[Check]:
    import great_expectations as gx

    # a file with the header and no rows is a zero report (零报告), not a bad file
    checks = [Check(gx.expectations.ExpectTableColumnCountToBeBetween(min_value=1), "no columns")]
    for name in contract.required_fields:
        aliases = "/".join(contract.fields[name].aliases[:2]) or name
        checks.append(Check(
            gx.expectations.ExpectColumnToExist(column=name),
            f"required column '{name}' ({aliases}) missing",
        ))
    return checks


def check_file(mapped: pd.DataFrame, contract: FeedContract) -> list[str]:
    """File-level reasons to quarantine the whole file ([] when it may be read row by row).

    The file suite looks at the columns only (how many, which), so its answer is the same for
    every file of one layout: GX runs once per feed contract and column layout in a process (a
    day of mass screening is hundreds of files in a few layouts), on the header alone."""
    required = tuple((name, tuple(contract.fields[name].aliases[:2])) for name in contract.required_fields)
    key = (contract.feed, required, tuple(map(str, mapped.columns)))
    if key not in _FILE_VERDICTS:
        checks = file_checks(contract)
        results = _run(mapped.head(0).reset_index(drop=True), f"{contract.feed}_file", checks)
        _FILE_VERDICTS[key] = tuple(c.reason for c, r in zip(checks, results) if not r.success)
    return list(_FILE_VERDICTS[key])


_FILE_VERDICTS: dict[tuple, tuple[str, ...]] = {}


def row_checks(contract: FeedContract) -> list[Check]:
    import great_expectations as gx

    e = gx.expectations
    checks = []
    for name in contract.required_fields:
        if name in ("event_time",):
            continue
        checks.append(Check(e.ExpectColumnValuesToNotBeNull(column=name), f"{name} missing"))
    checks.append(Check(
        e.ExpectColumnValuesToNotBeNull(column="event_time"), "event_time missing or not a date/time"
    ))
    if "id_number" in contract.fields:
        checks.append(Check(
            e.ExpectColumnValuesToBeInSet(column="id_status", value_set=ACCEPTED_ID_STATUSES),
            "id_number unusable (Excel scientific notation or not an ID number)",
        ))
    readings = [n for n, spec in contract.fields.items() if spec.type == "temperature"]
    if readings:
        low, high = TEMPERATURE_RANGE
        for name in readings:  # `temperature`, or each reading of a feed that takes two (上午/下午体温)
            column = "temperature" if name == "temperature" else f"_{name}_celsius"
            checks.append(Check(
                e.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high),
                f"{name} outside {low}-{high} °C",
            ))
        checks.append(Check(
            e.ExpectColumnValuesToBeInSet(column="_temperature_unreadable", value_set=[False]),
            "temperature not a number",
        ))
    for spec in contract.fields.values():  # every field is a column of the normalized rows
        if spec.allowed is not None:
            allowed = [a for a in spec.allowed if a]
            checks.append(Check(
                e.ExpectColumnValuesToBeInSet(column=spec.name, value_set=allowed),
                f"{spec.name} not one of {'/'.join(allowed)}",
            ))
        if spec.type == "code":
            checks.append(Check(
                e.ExpectColumnValuesToBeInSet(column=f"_{spec.name}_unusable", value_set=[False]),
                f"{spec.name} unusable (Excel scientific notation)",
            ))
        if spec.type == "count":
            checks.append(Check(
                e.ExpectColumnValuesToBeInSet(column=f"_{spec.name}_unusable", value_set=[False]),
                f"{spec.name} not a whole number",
            ))
    if contract.kind == "results":  # a result must name the tube it is for: the sample's or the pool's
        checks.append(Check(e.ExpectColumnValuesToBeInSet(column="_tube_given", value_set=[True]),
                            "sample_id and pool_id both missing"))
    return checks


FUTURE_GRACE = pd.Timedelta(days=1)  # clocks and time zones of the sending units: a day of slack


ROW_CHUNK = 250_000  # rows GX validates at once: it holds several copies and masks of what it reads


def validate_rows(records: pd.DataFrame, contract: FeedContract, latest: "pd.Series | None" = None) -> pd.Series:
    """Row-level suite → quarantine reason per row ('' = accepted), aligned with `records`.
    `latest`: per row, the latest event time it can carry, naive on the event times' clock
    (stage_ingest.latest_event_times); an event later than it by more than FUTURE_GRACE is a wrong
    year or clock, not a screening."""
    reasons = pd.Series("", index=records.index, dtype=object)
    if records.empty:
        return reasons
    checks = row_checks(contract)
    if latest is not None and "event_time" in records:
        moments = datetimes.moments(records["event_time"])
        records = records.assign(_event_time_future=(moments > latest + FUTURE_GRACE).to_numpy())
        import great_expectations as gx

        checks.append(Check(gx.expectations.ExpectColumnValuesToBeInSet(column="_event_time_future", value_set=[False]),
                            "event_time more than a day after its file was written and after the batch: a wrong "
                            "year or clock?"))
    # only the columns the suite reads: the rest (raw and details JSON, names) cost GX copies
    used = {getattr(check.expectation, "column", None) for check in checks}
    columns = list(records.columns) if None in used else [c for c in records.columns if c in used]
    checked, starts = records[columns], list(range(0, len(records), ROW_CHUNK))
    workers = min(forked.cores(), len(starts))

    def failing(share: list[int]) -> list[tuple[int, str]]:
        """(position, reason) of the failing rows of the chunks starting at `share` (one suite)."""
        chunks = (checked.iloc[start:start + ROW_CHUNK].reset_index(drop=True).replace({"": None}) for start in share)
        found = []
        for start, results in zip(share, _run_each(chunks, f"{contract.feed}_rows", checks)):
            for check, result in zip(checks, results):
                if result.success:
                    continue
                if _raised(result):
                    raise RuntimeError(f"GX expectation for '{check.reason}' could not run")
                found += [(start + int(position), check.reason) for position in result.result.get("unexpected_index_list") or []]
        return found

    # every check is per row: a chunk at a time gives what one run would, and the chunks are dealt
    # to forked workers across the cores (a first load's million rows: GX's 13 s in one core)
    collected: dict[int, list[str]] = {}  # the failing rows' reasons, by position (a list per row cost 1.6 s a million)
    for found in forked.map_forked(failing, [starts[k::workers] for k in range(workers)], workers):
        for position, reason in found:
            collected.setdefault(position, []).append(reason)
    if collected:
        positions = sorted(collected)
        reasons.iloc[positions] = ["; ".join(collected[p]) for p in positions]
    return reasons


def _raised(result) -> bool:
    """Whether GX could not run an expectation (e.g. its column is missing). GX 1.x reports this
    either at the top of `exception_info` or per metric inside it; a check that did not run must
    never pass for one that found nothing wrong."""
    info = result.exception_info or {}
    return bool(info.get("raised_exception")) or any(
        isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def orphan_links(persons: pd.DataFrame, links: pd.DataFrame) -> str:
    """Links to a person the batch did not fuse ("" = none): they would point at nobody."""
    # text ids in Arrow: sets of a first load's million ids built value by value took 7 s, and so
    # did pandas' isin of Arrow text, which makes the values Python objects one by one
    import pyarrow as pa
    import pyarrow.compute as pc

    linked, known = links["person_id"], persons["person_id"]
    try:
        as_text = [pa.array(ids, from_pandas=True) for ids in (linked, known)]
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        as_text = []
    if all(pa.types.is_string(a.type) or pa.types.is_large_string(a.type) or pa.types.is_null(a.type)
           for a in as_text) and as_text:
        linked, known = (a.cast(pa.large_string()) for a in as_text)
        orphans = len(pc.unique(pc.filter(linked, pc.invert(pc.is_in(linked, value_set=known, skip_nulls=False)))))
    else:  # ids that are not all text: compared as they are
        orphans = linked[~linked.isin(known)].nunique(dropna=False)
    return f"{orphans} linked person id(s) without a person record" if orphans else ""


AUDITED_PERSON_COLUMNS = ["person_id", "status", "responsible_list", "n_records"]  # what `audit_persons` reads


def audit_persons(persons: pd.DataFrame, statuses: tuple[str, ...] | list[str]) -> list[str]:
    """Output audit of the person rows a batch writes: what BI tools and push lists rely on
    ([] = all good). `statuses`: the statuses of the run's policy."""
    if persons.empty:  # an hour that changed nobody: nothing to audit (and no need to load GX)
        return []
    import great_expectations as gx

    e = gx.expectations
    checks = [
        Check(e.ExpectColumnValuesToBeUnique(column="person_id"), "person_id not unique"),
        Check(e.ExpectColumnValuesToNotBeNull(column="person_id"), "person_id missing"),
        Check(e.ExpectColumnValuesToBeInSet(column="status", value_set=list(statuses)), "unknown status"),
        Check(e.ExpectColumnValuesToNotBeNull(column="responsible_list"), "person without a responsible list"),
        Check(e.ExpectColumnValuesToBeBetween(column="n_records", min_value=1), "person without records"),
    ]
    # only the columns the checks read: GX hashes the whole frame it is given, more than once
    audited = persons[AUDITED_PERSON_COLUMNS].reset_index(drop=True)
    results = _run(audited, "person_audit", checks)
    return [c.reason for c, r in zip(checks, results) if not r.success]
