"""A row's fields beyond its canonical record: the contract's other fields normalized by type (with
a flag per code or count that could not be used), why an ID number was set aside, which given
values could not be read, and the row's details as JSON text.
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring

import numpy as np
import pandas as pd

from screenfuse import addresses, datetimes, documents, medicines
from screenfuse import normalize as nz
from screenfuse.contracts import FeedContract


def extra_fields(mapped: pd.DataFrame, contract: FeedContract, known,
                 reference: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The contract's fields beyond `known`, normalized by type ("" when the file lacks the column),
    and a `_<field>_unusable` flag column per `code` field (Excel's scientific notation). A date
    without its year takes the year of the row's event time (`reference`, datetimes.normalize_dates)."""
    details = pd.DataFrame(index=mapped.index)
    flags = pd.DataFrame(index=mapped.index)
    given = [(name, spec.type) for name, spec in contract.fields.items() if name not in known and name in mapped]
    # codes and text, whose normalizers are element-wise, in one call each (see nz.batched); not
    # dates: pandas parses a column's date times together (one time zone or none)
    codes = [name for name, kind in given if kind == "code"]
    done = dict(zip(codes, nz.batched(nz.normalize_codes, [mapped[name] for name in codes])))
    texts = [name for name, kind in given if kind not in ("date", "datetime", "address", "code", "medicine_category",
                                                          "temperature", "count")]
    done |= dict(zip(texts, nz.clean_texts([mapped[name] for name in texts])))
    for name, spec in contract.fields.items():
        if name in known:
            continue
        if name not in mapped.columns:
            details[name] = ""
            if spec.type in ("code", "count"):
                flags[f"_{name}_unusable"] = False
        elif spec.type == "date":
            details[name] = datetimes.normalize_dates(mapped[name], reference=reference)
        elif spec.type == "datetime":
            details[name] = datetimes.normalize_datetimes(mapped[name])
        elif spec.type == "address":
            details[name] = addresses.normalize_addresses(mapped[name])
        elif spec.type == "medicine_category":  # an empty one from the medicine's name (field `medicine`)
            details[name] = medicines.normalize_categories(mapped[name], mapped["medicine"] if "medicine" in mapped else None)
        elif spec.type == "code":
            codes = done[name]
            details[name] = codes["code"]
            flags[f"_{name}_unusable"] = codes["unusable"].astype(bool)
        elif spec.type == "temperature":  # kept as the reading in °C ("37.5"; "" when unreadable)
            details[name] = nz.normalize_temperatures(mapped[name]).map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
        elif spec.type == "count":  # a whole number (房间数, "120间" = 120), flagged when it is none
            text = nz.to_halfwidth(mapped[name].fillna("").astype(str)).str.strip().str.replace(r"[间个]$", "", regex=True)
            details[name] = text
            flags[f"_{name}_unusable"] = (text != "") & ~text.str.fullmatch(r"[0-9]+")
        else:
            details[name] = done[name]
    return details, flags


ID_SET_ASIDE = {"excel_mangled": "id_number set aside: a number through Excel (digits lost)",
                "malformed": "id_number set aside: neither a resident ID nor another document's number"}


def set_aside_reasons(records: pd.DataFrame, contract: FeedContract) -> pd.Series:
    """Per row, why its ID number was set aside ('' = it was not): an unusable number (through
    Excel, or no document's form) on a row that still says who the person is (a name, and a phone
    or an address) is dropped from the record and the row accepted; the number as sent stays in
    `raw_json`. A row with nothing else to go on keeps the unusable number and is quarantined, and
    so is every such row of a feed whose contract requires `id_number`."""
    reasons = records["id_status"].map(ID_SET_ASIDE).fillna("")
    spec = contract.fields.get("id_number")
    if spec is None or spec.required:
        return pd.Series("", index=records.index, dtype=object)
    facts = (records["name"] != "") & ((records["phone"] != "") | (records["address"] != ""))
    return reasons.where(facts, "")


# what a cell holds when it gives no value: nothing but dashes, slashes, backslashes, dots, stars,
# tildes and spaces (——, --, /; a zero-width space or byte-order mark a copy left), or a word for
# none, to be decided or not a number (a NaN a script wrote)
_NO_VALUE_MARKS = "[-—–_/\\\\.。·*~～\\s\u200b\ufeff]*"
_NO_VALUE_WORDS = documents.MISSING_WORDS | {"待定", "否", "NAN", "NAT"}


def unreadable_fields(mapped: pd.DataFrame, read: dict[str, pd.Series]) -> pd.Series:
    """Per row, the optional fields (`read`: name → the value as read, '' when it could not be)
    whose value was given but could not be read, comma-separated ('' = none). A date a form cannot
    say (2月30日, 85.13.2, 12:30 without a year) must not cost the row its person: it is kept, the
    value as sent stays in raw_json, and v_unreadable_values lists it. A word for "none" (无, 不详)
    gave no value."""
    out = np.full(len(mapped), "", dtype=object)
    for name, value in read.items():
        if name not in mapped.columns:
            continue
        given = nz.clean_text(mapped[name])
        said = ~given.str.fullmatch(_NO_VALUE_MARKS).fillna(True).astype(bool) & ~given.str.upper().isin(_NO_VALUE_WORDS)
        lost = (said & (value.fillna("").astype(str) == "")).to_numpy(dtype=bool)
        out[lost] = np.where(out[lost] == "", name, out[lost] + ", " + name)
    return pd.Series(out, index=mapped.index, dtype=object)


def json_rows(frame: pd.DataFrame) -> list[str]:
    """Each row as a JSON object of its text: the text `json.dumps(dict(row), ensure_ascii=False)`
    gives, joined from json's own string encoder column by column (twice as fast as a dict and a
    dumps per row). Duplicate or non-text headers, which a dict would fold, take the plain way."""
    columns = list(frame.columns)
    if not len(frame):
        return []
    if not columns or len(set(columns)) != len(columns) or not all(isinstance(c, str) for c in columns):
        return [json.dumps(dict(zip(columns, row)), ensure_ascii=False) for row in frame.astype(str).to_numpy()]
    keys = [("{" if k == 0 else ", ") + encode_basestring(c) + ": " for k, c in enumerate(columns)]
    parts = [[key + encode_basestring(v) for v in frame[c].astype(str).tolist()] for key, c in zip(keys, columns)]
    return ["".join(row) + "}" for row in zip(*parts)]
