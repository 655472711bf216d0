"""The zh_person preset's input: canonical person columns, normalized for matching.

Canonical columns: record_id, name, id_number, id_type, phone, birth_date, sex, address (any may
be missing or empty; extra columns are kept). `id_type` names the document `id_number` is of
(screenfuse.documents.DOCUMENT_TYPES, or 证件类型 as units write it); without it the number's form
decides. A resident ID stays in `id_number`; another document goes to `document` as
'<type>:<number>' (compared exactly, per type). Normalizing twice gives the same result, so records
the pipeline already normalized pass through unchanged.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from screenfuse import documents
from screenfuse import addresses
from screenfuse import datetimes
from screenfuse import normalize as nz
from screenfuse.matching.twins import row_groups
from screenfuse.forked import cores, map_forked

CANONICAL = ("record_id", "name", "id_number", "id_type", "phone", "birth_date", "sex", "address")
_SEX = {"m": "M", "male": "M", "男": "M", "1": "M", "f": "F", "female": "F", "女": "F", "2": "F"}


PARALLEL_FROM_ROWS = 200_000
# what each raw column becomes, computed once per distinct value (see _normalize_distinct)
_DERIVED = {
    "name": ["name", "name_pinyin"],
    "id_number": ["id_number", "id_status", "birth_date", "sex", "id_type"],
    "phone": ["phone", "phone2"],
    "phone2": ["phone"],
    "birth_date": ["birth_date"],
    "address": addresses.ADDRESS_PARTS,
}


def _normalize_distinct(task: tuple[str, list[str]]) -> dict[str, list]:
    """Normalize distinct values of one raw column (runs in a worker process for large inputs)."""
    column, values = task
    series = pd.Series(values, dtype=object)
    if column == "name":
        names = nz.normalize_name(series)
        done = pd.DataFrame({"name": names, "name_pinyin": nz.pinyin_of(names)}, dtype=object)
    elif column == "id_number":
        done = documents.normalize_documents(series)
    elif column in ("phone", "phone2"):
        done = nz.normalize_phones(series)
    elif column == "birth_date":
        done = pd.DataFrame({"birth_date": datetimes.normalize_birth_dates(series)}, dtype=object)
    else:  # values are distinct already: one pass, no second factorize
        done = pd.DataFrame([addresses.address_parts_of(v) for v in values], columns=addresses.ADDRESS_PARTS, dtype=object)
    return {c: done[c].tolist() for c in _DERIVED[column]}


def prepare(frame: pd.DataFrame, workers: int | None = None, parallel_from_rows: int = PARALLEL_FROM_ROWS) -> pd.DataFrame:
    """Normalize for matching.

    Each raw column is reduced to its distinct values, which are normalized once (split across
    the machine's cores for large inputs: the workers fork with the distinct values, and only
    their results travel back) and spread back to the rows. The matching columns come back as
    categoricals, their codes numbering the distinct normalized values.
    """
    workers = workers or cores()
    parallel = len(frame) >= parallel_from_rows and workers > 1
    codes, tasks = {}, []
    for column in _DERIVED:
        if column not in frame.columns:
            continue
        codes[column], uniques = pd.factorize(frame[column].fillna("").astype(str))
        values = np.asarray(uniques, dtype=object)
        parts = np.array_split(values, workers * 2) if parallel else [values]
        tasks += [(column, part.tolist()) for part in parts]
    # the workers fork with the distinct values; only their results travel back (screenfuse.forked)
    results = map_forked(_normalize_distinct, tasks, workers if parallel else 1)
    derived = {}
    for (column, _), result in zip(tasks, results):
        for name, values in result.items():
            derived.setdefault((column, name), []).extend(values)

    def col(column: str, name: str) -> np.ndarray:
        if column not in codes:
            return np.full(len(frame), "", dtype=object)
        return np.asarray(derived[(column, name)], dtype=object)[codes[column]]

    def coded(column: str, name: str) -> pd.Categorical | np.ndarray:
        """The column as a categorical: the engine takes its codes as they are instead of hashing
        a million strings (`matching.columns.Columns`)."""
        if column not in codes:  # no such raw column: every record without a value, as a categorical too
            return spread_categorical(np.array([""], dtype=object), np.zeros(len(frame), dtype=np.int64))
        return spread_categorical(derived[(column, name)], codes[column])

    out = {c: frame[c] for c in frame.columns}  # extra columns are kept as they are
    out["record_id"] = frame["record_id"].fillna("").astype(str).to_numpy(dtype=object) if "record_id" in frame.columns else col("", "")
    out["name"], out["name_pinyin"] = coded("name", "name"), coded("name", "name_pinyin")
    # the columns below are functions of a few raw columns' codes: each is computed once per
    # distinct combination of them and handed over as a categorical, as `coded` does
    none = np.zeros(len(frame), dtype=np.int64)
    ids = {name: col("id_number", name).copy() for name in _DERIVED["id_number"]}
    _declared_types(frame, ids)
    if "id_status" in frame.columns:  # stored records: a number converted from 15 digits reads as valid now
        earlier = frame["id_status"].fillna("").astype(str).to_numpy(dtype=object)
        ids["id_status"][(earlier == "converted_15") & (ids["id_status"] == "valid")] = "converted_15"
    id_group, rows = combination_groups([codes.get("id_number", none),
                                         *(_raw_codes(frame, c) for c in ("id_type", "id_status") if c in frame.columns)])
    documents_of = document_columns(ids["id_type"][rows], ids["id_number"][rows], ids["id_status"][rows])
    out |= {name: spread_categorical(values, id_group) for name, values in documents_of.items()}
    group, rows = combination_groups([id_group, codes.get("birth_date", none)])
    id_birth = ids["birth_date"][rows]
    out["birth_date"] = spread_categorical(np.where(id_birth != "", id_birth, col("birth_date", "birth_date")[rows]), group)
    sex_codes, given = _raw_codes(frame, "sex", values=True)
    given_sex = pd.Series(given, dtype=object).str.strip().str.lower().map(_SEX).fillna("").to_numpy(dtype=object)
    group, rows = combination_groups([id_group, sex_codes])
    id_sex = ids["sex"][rows]
    out["sex"] = spread_categorical(np.where(id_sex != "", id_sex, given_sex[sex_codes[rows]]), group)
    out["phone"] = coded("phone", "phone")
    group, rows = combination_groups([codes.get("phone2", none), codes.get("phone", none)])
    second = col("phone2", "phone")[rows]
    out["phone2"] = spread_categorical(np.where(second != "", second, col("phone", "phone2")[rows]), group)
    for name in addresses.ADDRESS_PARTS:
        out[name] = coded("address", name)
    # object columns as they are: letting pandas convert them to its string type and back costs seconds
    return pd.DataFrame({c: pd.Series(v, index=frame.index, dtype=object) if isinstance(v, np.ndarray) else
                         pd.Series(v, index=frame.index) if isinstance(v, pd.Categorical) else v
                         for c, v in out.items()})


def _raw_codes(frame: pd.DataFrame, column: str, values: bool = False):
    """A raw column's codes (all 0 without the column), and with `values` its distinct values."""
    if column in frame.columns:
        codes, uniques = pd.factorize(frame[column].fillna("").astype(str))
    else:
        codes, uniques = np.zeros(len(frame), dtype=np.int64), [""]
    return (codes, np.asarray(uniques, dtype=object)) if values else codes


def combination_groups(code_columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A group per row, the same for rows equal in every code column, and each group's first row."""
    group = row_groups(code_columns)
    first = np.zeros(int(group.max(initial=-1)) + 1, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)  # written last to first: the first row wins
    return group, first


def spread_categorical(values: np.ndarray, group: np.ndarray) -> pd.Categorical:
    """Each group's value, spread to its rows as a categorical (distinct values as categories)."""
    merged, distinct = pd.factorize(np.asarray(values, dtype=object))
    # categories as Python strings: left to infer, pandas copies them into its Arrow strings
    # (86 MB and 0.16 s for 650,000 IDs, which the engine would turn back into Python strings)
    return pd.Categorical.from_codes(merged[group], categories=pd.Index(distinct, dtype=object), validate=False)


def document_columns(id_type: np.ndarray, number: np.ndarray, id_status: np.ndarray) -> dict[str, np.ndarray]:
    """Normalized document fields → the matching columns: the resident ID (`id_number`), the one
    trusted for hard rules (`id_trusted`: a valid 18-digit ID, whose check digit was typed and
    verified) and another document's '<type>:<number>' key (`document`). An old 15-digit ID is
    not trusted: its check digit is computed at conversion, so a mistyped digit converts to a
    "valid" number one digit and the check off the person's real ID."""
    resident = np.where(id_type == documents.RESIDENT, number, "").astype(object)
    return {"document": documents.document_keys(*(pd.Series(v, dtype=object) for v in (id_type, number, id_status)))
                                 .to_numpy(dtype=object),
            "id_number": resident,
            "id_trusted": np.where(id_status == "valid", resident, "").astype(object)}


def _declared_types(frame: pd.DataFrame, ids: dict[str, np.ndarray]) -> None:
    """Where the frame names a record's document type (`id_type`) and it is not what the number's
    form said, the document is read again with the type given (few records: most name the type
    the form says)."""
    if "id_type" not in frame.columns or not len(frame):
        return
    declared = documents.type_of(frame["id_type"]).to_numpy(dtype=object)
    rows = np.flatnonzero((declared != "") & (declared != ids["id_type"]))
    if not len(rows):
        return
    numbers = frame["id_number"].fillna("").astype(str).iloc[rows] if "id_number" in frame.columns else \
        pd.Series([""] * len(rows), dtype=object)
    again = documents.normalize_documents(numbers.reset_index(drop=True), pd.Series(declared[rows], dtype=object))
    for name, values in ids.items():
        values[rows] = again[name].to_numpy(dtype=object)
