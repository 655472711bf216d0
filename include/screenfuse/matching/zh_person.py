"""The zh_person preset's input: canonical person columns, normalized for matching.

Canonical columns: record_id, name, id_number, phone, birth_date, sex, address (any may be
missing or empty; extra columns are kept). Normalizing twice gives the same result, so records
the pipeline already normalized pass through unchanged.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pandas as pd

from screenfuse import normalize as nz

CANONICAL = ("record_id", "name", "id_number", "phone", "birth_date", "sex", "address")
_SEX = {"m": "M", "male": "M", "男": "M", "1": "M", "f": "F", "female": "F", "女": "F", "2": "F"}


PARALLEL_FROM_ROWS = 200_000


def prepare(frame: pd.DataFrame, workers: int | None = None) -> pd.DataFrame:
    """Normalize for matching; large frames are split across the machine's cores."""
    workers = workers or min(os.cpu_count() or 1, 8)
    if len(frame) < PARALLEL_FROM_ROWS or workers < 2:
        return _prepare(frame)
    chunks = np.array_split(np.arange(len(frame)), workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
        parts = list(pool.map(_prepare, [frame.iloc[c] for c in chunks]))
    return pd.concat(parts)


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    blank = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    col = lambda name: frame[name].fillna("").astype(str) if name in frame.columns else blank  # noqa: E731
    out["record_id"] = col("record_id")
    out["name"] = nz.normalize_name(col("name"))
    out["name_pinyin"] = nz.pinyin_of(out["name"])
    ids = nz.normalize_id_numbers(col("id_number"))
    out["id_number"] = ids["id_number"]
    out["id_trusted"] = np.where(ids["id_status"].isin(["valid", "converted_15"]), ids["id_number"], "")
    given_birth = nz.normalize_dates(col("birth_date"))
    out["birth_date"] = np.where(ids["birth_date"] != "", ids["birth_date"], given_birth)
    given_sex = col("sex").str.strip().str.lower().map(_SEX).fillna("")
    out["sex"] = np.where(ids["sex"] != "", ids["sex"], given_sex)
    phones = nz.normalize_phones(col("phone"))
    second = nz.normalize_phones(col("phone2"))["phone"] if "phone2" in frame.columns else phones["phone2"]
    out["phone"] = phones["phone"]
    out["phone2"] = np.where(second != "", second, phones["phone2"])
    out[nz.ADDRESS_PARTS] = nz.address_parts(nz.normalize_addresses(col("address"))).to_numpy()
    return out
