"""Push lists: per street office, the people who need an action, and their outbox files."""
from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from screenfuse.fuse import MEASURE_LABELS, STATUS_LABELS, Policy
from screenfuse.xlsx import write_xlsx

OUTBOX_HEADERS = {
    "push_item_id": "推送编号", "street": "街道", "community": "社区", "person_id": "人员编号",
    "name": "姓名", "id_number": "身份证号", "phone": "联系电话", "address": "住址",
    "status_label": "人员类别", "measure_label": "管控措施", "reason": "推送原因",
    "source_records": "来源记录", "due_at": "办结时限",
}


def plan_push_items(persons: pd.DataFrame, pushed_before: pd.DataFrame, batch_id: str,
                    as_of: datetime, policy: Policy) -> pd.DataFrame:
    """People with a measure that no earlier batch pushed → new push items of this batch."""
    needs = persons[persons["measure"] != ""].copy()
    if len(pushed_before):
        known = set(zip(pushed_before["person_id"], pushed_before["measure"]))
        needs = needs[[(p, m) not in known for p, m in zip(needs["person_id"], needs["measure"])]]
    hours = needs["measure"].map(policy.hours_to_act).fillna(24)
    return pd.DataFrame({
        "push_item_id": [_item_id(batch_id, p, m) for p, m in zip(needs["person_id"], needs["measure"])],
        "batch_id": batch_id,
        "street": needs["responsible_list"],
        "community": needs["community"],
        "person_id": needs["person_id"],
        "status": needs["status"],
        "measure": needs["measure"],
        "reason": needs["status"].map(STATUS_LABELS) + ": " + needs["status_reason"].str.count(";").add(1).astype(str) + " 条来源记录",
        "source_records": needs["status_reason"],
        "due_at": [(as_of + timedelta(hours=float(h))).strftime("%Y-%m-%dT%H:%M:%SZ") for h in hours],
        "state": "open",
        "created_at": as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }).reset_index(drop=True)


def _item_id(batch_id: str, person_id: str, measure: str) -> str:
    return "PI" + hashlib.sha1(f"{batch_id}|{person_id}|{measure}".encode()).hexdigest()[:12].upper()


def write_outbox(items: pd.DataFrame, folder: Path) -> list[Path]:
    """One CSV (UTF-8 with BOM, opens in Excel) and one XLSX per street office list."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    written = []
    items = items.assign(
        status_label=items["status"].map(STATUS_LABELS).fillna(items["status"]),
        measure_label=items["measure"].map(MEASURE_LABELS).fillna(items["measure"]),
    )
    for street, group in items.groupby("street", sort=True):
        table = group[list(OUTBOX_HEADERS)].rename(columns=OUTBOX_HEADERS)
        csv_path = folder / f"{street}.csv"
        csv_path.write_bytes(table.to_csv(index=False).encode("utf-8-sig"))
        write_xlsx(table, folder / f"{street}.xlsx", sheet_name="推送清单")
        written += [csv_path, folder / f"{street}.xlsx"]
    return written
