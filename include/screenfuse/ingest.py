"""Ingest one landed file: read it, map its headers through the contract, normalize its rows.

Pure functions of (file, contract, gazetteer); deciding which files are new and writing the
results is the pipeline's job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pandas as pd

from screenfuse import documents
from screenfuse import addresses
from screenfuse import datetimes
from screenfuse import normalize as nz
from screenfuse.contracts import FeedContract
from screenfuse.gazetteer import Gazetteer
from screenfuse.readers import UnreadableFile, data_sheets, read_table, sha256_of, unique_names
from screenfuse.records import IDENTITY_COLUMNS, FACT_COLUMNS, source_record_id
from screenfuse.row_fields import extra_fields, json_rows, set_aside_reasons, unreadable_fields
from screenfuse.validation import check_file


@dataclass
class StagedFile:
    """What became of one file. `records` is empty when the file was quarantined whole."""

    feed: str
    file_name: str
    file_sha256: str
    status: str  # staged | zero_report (header only) | quarantined | held (schema drift: read again next run)
    reason: str = ""
    file_format: str = ""
    encoding: str = ""
    rows_read: int = 0
    blank_rows: int = 0
    unmapped_headers: list[str] = field(default_factory=list)
    records: pd.DataFrame = field(default_factory=pd.DataFrame)
    mapped: pd.DataFrame | None = None  # read and mapped, not yet normalized (see normalize_files)
    row_numbers: np.ndarray | None = None  # the file's row numbers (1-based, blank rows skipped)
    raw_json: list[str] | None = None  # each row as sent
    row_problems: np.ndarray | None = None  # why a row could not be read ('' = fine), from the reader


READ_PROBLEM = "_read_problem"  # a column of the records of files with rows the reader could not read


def discover_files(landing: Path, contract: FeedContract) -> list[Path]:
    """Files in landing/<feed>/ matching the contract's patterns, in name order; not one whose name
    is not UTF-8 (the warehouse cannot store it: `landing.utf8_names` renames it when it can)."""
    folder = landing / contract.feed
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and any(fnmatch(p.name.lower(), pat) for pat in contract.patterns)
        and storable_name(p.name)
    )


def storable_name(name: str) -> bool:
    """Whether a file name as the file system gave it is UTF-8 (what the warehouse stores)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes the file system names kept as surrogates
        return False
    return True


def stage_file(path: Path, contract: FeedContract, gazetteer: Gazetteer, sha256: str | None = None,
               zone: str | None = None) -> StagedFile:
    """Read, map, check and normalize one file (see `read_file` and `normalize_files`)."""
    staged = read_file(path, contract, sha256)
    normalize_files([staged], contract, gazetteer, zone)
    return staged


_PERSONAL_LOOKING = re.compile(r"[0-9０-９]{5}|@")


def _is_header(columns, mapping: dict) -> bool:
    """Whether the first row is surely a header: two or more of its cells, and at least as many as
    the others, are names the contract knows (a row of data may hold one: a checkpoint named
    检测点). Only decides what is kept of it: a file whose header the contract partly knows waits
    (schema drift) either way."""
    return len(mapping) >= max(2, len(columns) - len(mapping))


def _header_names(columns, mapping: dict) -> list[str]:
    """The headers the contract does not know, kept for the operator who adds aliases, only when
    the row is a header: a first row of data (no header) would put a person's name, ID and phone
    into ingest_file. A cell with a run of digits or an @ is never kept (an ID, a phone, an
    e-mail in a header row)."""
    if not _is_header(columns, mapping):
        return []
    return [str(c) for c in columns if c not in mapping and not _PERSONAL_LOOKING.search(str(c))]


def _table_of(path: Path, contract: FeedContract):
    """The file's table; of a workbook whose likeliest sheet has no header the contract knows, the
    next visible sheet that has one (readers.data_sheets), else the likeliest as it is."""
    table = read_table(path)
    if table.file_format != "xlsx" or _knows_header(table.frame, contract):
        return table
    for sheet in data_sheets(path.read_bytes())[1:]:
        other = read_table(path, sheet=sheet)
        if _knows_header(other.frame, contract):
            return other
    return table


def _knows_header(frame: pd.DataFrame, contract: FeedContract) -> bool:
    required = set(contract.required_fields)
    below, _ = _below_title_rows(frame, contract)
    return bool(required) and required <= set(contract.header_map(list(below.columns)).values())


CHANGED_SINCE_TAKEN = ("changed since this batch took it (its content is not the one the batch registered): "
                       "none of its rows are loaded here; the next run takes the new content as a new delivery")


def read_file(path: Path, contract: FeedContract, sha256: str | None = None) -> StagedFile:
    """Read one file and map its headers; a file whose columns fail the file suite is quarantined
    whole, a header-only file is a zero report. The rows wait in `mapped` for `normalize_files`."""
    sha = sha256 or sha256_of(path)
    staged = StagedFile(contract.feed, path.name, sha, "staged")
    try:
        table = _table_of(path, contract)
    except UnreadableFile as exc:
        staged.status, staged.reason = "quarantined", str(exc)
        return staged
    if sha256 and table.sha256 != sha256:  # rewritten since the batch took it: not the content it registered
        staged.status, staged.reason = "changed", CHANGED_SINCE_TAKEN
        return staged
    staged.file_format, staged.encoding = table.file_format, table.encoding
    frame, problems_by_row = table.frame, table.row_problems
    staged.blank_rows = int(table.blank_rows)
    frame, titles = _below_title_rows(frame, contract)
    if titles:  # a title line (武昌区卡点登记表) above the header: not records, counted with the blank rows
        staged.blank_rows += titles
        problems_by_row = problems_by_row.iloc[titles:] if problems_by_row is not None else None
    staged.rows_read = len(frame)
    mapping = contract.header_map(list(frame.columns))
    mapped, seconds = _filled_from_seconds(frame.rename(columns=mapping)[list(mapping.values())], frame,
                                           contract.second_headers(list(frame.columns), mapping))
    staged.unmapped_headers = _header_names(frame.columns, mapping | {h: t for t, hs in seconds.items() for h in hs})
    problems = check_file(mapped, contract)
    if problems and mapping and all(p.startswith("required column") for p in problems):
        # a header the contract partly knows, with required columns missing: the unit's template
        # changed (renamed columns). The file waits, read again every run, until the contract
        # learns the new names or the unit resends (landing.take_files takes it again)
        staged.status, staged.reason = "held", (
            "schema drift: " + "; ".join(problems) + f" ({len(staged.unmapped_headers)} header(s) the contract does "
            "not know, in ingest_file.unmapped_headers): the file waits and is read again every run; add the "
            "new names as aliases in the feed contract (SCREENFUSE_CONTRACTS) or ask the unit to resend")
        return staged
    if problems:
        staged.status, staged.reason = "quarantined", "; ".join(problems)
        return staged
    if frame.empty:  # the header and nothing else: the unit found nobody (零报告)
        staged.status, staged.reason = "zero_report", "header only: zero report"
        return staged
    staged.mapped = mapped.reset_index(drop=True)
    staged.row_numbers = frame.index.to_numpy() + 1
    staged.raw_json = json_rows(frame)
    if problems_by_row is not None and (problems_by_row != "").any():
        staged.row_problems = problems_by_row.to_numpy()
    return staged


def _filled_from_seconds(mapped: pd.DataFrame, frame: pd.DataFrame,
                         seconds: dict[str, list[str]]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """A field two headers name, in a sheet of rows from two templates: a row's empty cell under
    the first takes the value under the next. Only when no row holds values under both: then the
    two mean different persons' (来电人姓名, the caller's name, beside 姓名), and the next header is
    left unknown. Returns the rows and the headers filled from; the rows' raw JSON keeps both."""
    used: dict[str, list[str]] = {}
    for target, headers in seconds.items():
        if isinstance(mapped[target], pd.DataFrame):  # the first header written twice: left as it is
            continue
        for header in headers:
            other = frame[header]
            if isinstance(other, pd.DataFrame):
                other = other.iloc[:, 0]
            mine, theirs = _holds(mapped[target]), _holds(other)
            if (mine & theirs).any():
                continue
            mapped.loc[theirs, target] = other[theirs]
            used.setdefault(target, []).append(header)
    return mapped, used


def _holds(values: pd.Series) -> np.ndarray:
    return (values.notna() & (values.astype(str).str.strip() != "")).to_numpy()


TITLE_ROWS_SEARCHED = 10


def _below_title_rows(frame: pd.DataFrame, contract: FeedContract) -> tuple[pd.DataFrame, int]:
    """Government forms often carry a title, a unit and a date line above the header, or a header
    of two rows (人员信息 merged across 姓名 and 身份证号 below it, 卡点名称 merged down). When the
    first row read as the header does not map every required field, the header is the first of
    the next rows that does, each of its empty cells named by the row above it (a name merged
    down); the rows above it are dropped (returned: how many)."""
    required = set(contract.required_fields)
    if not required or required <= set(contract.header_map(list(frame.columns)).values()):
        return frame, 0
    above = ["" if str(c).startswith("Unnamed:") else str(c).strip() for c in frame.columns]  # pandas' empty cells
    for k in range(min(TITLE_ROWS_SEARCHED, len(frame))):
        header = [str(v).strip() for v in frame.iloc[k]]
        named = [own or merged for own, merged in zip(header, above)]
        if required <= set(contract.header_map(named).values()):
            below = frame.iloc[k + 1:].copy()
            below.columns = unique_names(named)
            return below, k + 1
        above = named
    return frame, 0


def normalize_files(files: list[StagedFile], contract: FeedContract, gazetteer: Gazetteer,
                    zone: str | None = None) -> None:
    """Normalize the rows `read_file` left in `mapped` into each file's `records`. Files of one
    column layout go through the normalizers together: pandas costs some 50 ms a call whatever
    the rows, and a day of mass screening is hundreds of files of a hundred rows. Every
    normalizer works value by value, so a row comes out as it would from its file alone. `zone`:
    the district's time zone, on whose clock a time written with its zone is kept (the policy's)."""
    layouts: dict[tuple, list[StagedFile]] = {}
    for staged in files:
        if staged.mapped is not None:
            layouts.setdefault(tuple((c, str(t)) for c, t in staged.mapped.dtypes.items()), []).append(staged)
    for group in layouts.values():
        mapped = pd.concat([f.mapped for f in group], ignore_index=True) if len(group) > 1 else group[0].mapped
        sizes = [len(f.mapped) for f in group]
        for staged in group:  # the files' own frames go once they are one: a first load's are a GB
            staged.mapped = None
        with datetimes.local_zone(zone):
            records, start = _as_arrow_text(_normalized(mapped, contract, gazetteer)), 0
        del mapped
        for staged, size in zip(group, sizes):
            part = records.iloc[start:start + size].reset_index(drop=True)
            start += size
            staged.records = _with_origin(part, staged)
            staged.row_numbers, staged.raw_json, staged.row_problems = None, None, None


def _as_arrow_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The normalizers' text columns (Python strings) as pandas' Arrow strings, as the stage reads
    them back anyway: a million normalized rows hold about 1 GB less until they are staged."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "string":
            frame[column] = values.astype("str")
    return frame


def _normalized(mapped: pd.DataFrame, contract: FeedContract, gazetteer: Gazetteer) -> pd.DataFrame:
    if contract.kind == "answers":
        from screenfuse.feedback import normalize_answers

        return normalize_answers(mapped)
    if contract.kind == "results":
        from screenfuse.mass_screening import normalize_results

        return normalize_results(mapped, contract)
    if contract.kind == "decisions":
        from screenfuse.review_desk import normalize_decisions

        return normalize_decisions(mapped)
    if contract.kind == "reference":
        from screenfuse.isolation import normalize_points

        return normalize_points(mapped, contract)
    return normalize_rows(mapped, contract, gazetteer)


def _with_origin(records: pd.DataFrame, staged: StagedFile) -> pd.DataFrame:
    """The file's normalized rows with where each came from: feed, file, content hash, row, id."""
    records.insert(0, "row_number", staged.row_numbers)
    records.insert(0, "file_sha256", staged.file_sha256)
    records.insert(0, "file_name", staged.file_name)
    records.insert(0, "feed", staged.feed)
    records.insert(0, "source_record_id", [source_record_id(staged.feed, staged.file_sha256, int(n))
                                           for n in records["row_number"]])
    records["raw_json"] = staged.raw_json
    if staged.row_problems is not None:  # quarantined whatever else they hold (validate_feed)
        records[READ_PROBLEM] = staged.row_problems
    return records


def normalize_rows(mapped: pd.DataFrame, contract: FeedContract, gazetteer: Gazetteer) -> pd.DataFrame:
    """Mapped text columns → canonical record columns (plus `_`-prefixed columns for checks)."""
    n = len(mapped)
    col = lambda name: mapped[name] if name in mapped.columns else pd.Series([""] * n, index=mapped.index)  # noqa: E731
    texts = ("unit", "category", "nucleic_acid", "action", "came_from", "event_time", *contract.address_from)
    cleaned = dict(zip(texts, nz.clean_texts([col(name) for name in texts])))
    out = pd.DataFrame(index=mapped.index)
    out["unit"] = cleaned["unit"]
    out["event_time"] = datetimes.normalize_datetimes(col("event_time"))
    out["name"] = nz.normalize_name(col("name"))
    out["name_pinyin"] = nz.pinyin_of(out["name"])
    out = out.join(documents.normalize_documents(col("id_number"), mapped["id_type"] if "id_type" in mapped else None))
    out = out.join(nz.normalize_phones(col("phone")))

    address = addresses.normalize_addresses(col("address"))
    if contract.address_from:
        composed = addresses.normalize_addresses(
            pd.concat([cleaned[p] for p in contract.address_from], axis=1).agg("".join, axis=1)
        )
        address = address.where(address != "", composed)
    out["address"] = address
    out = out.join(gazetteer.route(address))

    # a feed that takes the temperature twice a day (隔离点: 上午/下午体温) declares two fields of type
    # temperature: the record's temperature is the higher reading, each is checked on its own
    readings = [name for name, spec in contract.fields.items() if spec.type == "temperature"] or ["temperature"]
    unreadable = pd.Series(False, index=mapped.index)
    celsius = []
    for name in readings:
        value = nz.normalize_temperatures(col(name))
        unreadable |= ((nz.to_halfwidth(col(name)).str.strip() != "") & value.isna() & ~nz.said_no_fever(col(name))
                       & ~nz.not_measured(col(name)))
        celsius.append(value)
        if name != "temperature":
            out[f"_{name}_celsius"] = value
    out["temperature"] = pd.concat(celsius, axis=1).max(axis=1) if len(celsius) > 1 else celsius[0]
    out["_temperature_unreadable"] = unreadable
    for text_field in ("category", "nucleic_acid", "action", "came_from"):
        out[text_field] = cleaned[text_field]
    out["arrival_date"] = datetimes.normalize_dates(col("arrival_date"), reference=out["event_time"])
    out["contact_of_name"] = nz.normalize_name(col("contact_of_name"))
    out["contact_of_id"] = documents.normalize_id_numbers(col("contact_of_id"))["id_number"]
    out["_event_time_given"] = cleaned["event_time"] != ""
    out["id_set_aside"] = set_aside_reasons(out, contract)
    out.loc[out["id_set_aside"] != "", ["id_type", "id_number", "id_status"]] = ["", "", "set_aside"]

    known = {"unit", "event_time", "name", "id_number", "phone", "address", "temperature",
             *IDENTITY_COLUMNS, *FACT_COLUMNS}
    extra, flags = extra_fields(mapped, contract, known, reference=out["event_time"])
    dates = [name for name, spec in contract.fields.items() if spec.type in ("date", "datetime") and name in extra]
    out["unreadable"] = unreadable_fields(mapped, {"arrival_date": out["arrival_date"]} | {n: extra[n] for n in dates})
    present = [f for f in extra.columns if f in mapped.columns]
    out["details_json"] = json_rows(extra[present]) if present else "{}"
    # every extra field is also a column (empty when the file lacks it), so the row suite can check
    # it; what the warehouse keeps of a record is its canonical columns and details_json
    return out.join(extra).join(flags)


def empty_records() -> pd.DataFrame:
    from screenfuse.records import RECORD_COLUMNS

    return pd.DataFrame({c: pd.Series(dtype=np.float64 if c == "temperature" else object) for c in RECORD_COLUMNS})
