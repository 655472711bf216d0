"""What street offices send back for the push lists of one outbox folder (synthetic feedback)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd


FEEDBACK_HEADERS = ["推送编号", "核查结果", "反馈时间", "核查人", "备注"]


ANSWER_CLOCK = ZoneInfo("Asia/Shanghai")  # the default policy's timezone


def answer_push_lists(outbox: Path, out: Path, seed: int, answered_from: datetime, in_time: float = 0.55,
                      late: float = 0.12, not_same: float = 0.03, not_found: float = 0.03, left: float = 0.02,
                      only_overdue: bool = False) -> dict:
    """What street offices send back for the lists of one outbox folder (outbox/<batch>/): one
    feedback file per street (`<street>_<YYYYMMDD>_反馈.csv`). Per item, drawn from the seed:
    answered before its due time (已核实/已隔离/已转运), answered after it (late), 非本人,
    查无此人, 已离开本辖区, or not answered at all. `only_overdue`: answer only items flagged 超时
    (the late answers to escalated items). Items a list carries as handed to another street are
    not answered."""
    rng = np.random.default_rng([seed, 7])
    counts = {"answered": 0, "in_time": 0, "late": 0, "非本人": 0, "查无此人": 0, "已离开本辖区": 0}
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(outbox.glob("*.csv")):
        if not path.stem.endswith("街道"):  # the district list, the police tracing list, daily reports
            continue
        items = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        items = items[~items["推送类型"].str.startswith("转出")]
        due_header = next(c for c in items.columns if c.startswith("办结时限"))  # 办结时限(北京时间): local
        items = items.assign(due_utc=pd.to_datetime(items[due_header]).dt.tz_localize(ANSWER_CLOCK)
                             .dt.tz_convert("UTC").dt.tz_localize(None))
        if only_overdue:
            items = items[items["超时"] == "超时"]
        rows = []
        for item in items.itertuples(index=False):
            draw = float(rng.random())
            due = item.due_utc.to_pydatetime()
            cut = [in_time, in_time + late, in_time + late + not_same, in_time + late + not_same + not_found,
                   in_time + late + not_same + not_found + left]
            if only_overdue:
                result, when = "已核实", due + timedelta(hours=float(rng.integers(1, 6)))
            elif draw < cut[0]:
                result = "已核实"
                when = answered_from + timedelta(minutes=float(rng.integers(5, 50)))
            elif draw < cut[1]:
                result, when = "skip", None  # answered late, later (only_overdue)
            elif draw < cut[2]:
                result, when = "非本人", answered_from + timedelta(minutes=float(rng.integers(5, 50)))
            elif draw < cut[3]:
                result, when = "查无此人", answered_from + timedelta(minutes=float(rng.integers(5, 50)))
            elif draw < cut[4]:
                result, when = "已离开本辖区", answered_from + timedelta(minutes=float(rng.integers(5, 50)))
            else:
                result, when = "skip", None
            if result == "skip":
                continue
            if result == "已核实":
                result = _done_result(item.管控措施, rng)
                counts["late" if when > due else "in_time"] += 1
            else:
                counts[result] += 1
            counts["answered"] += 1
            local = when.replace(tzinfo=timezone.utc).astimezone(ANSWER_CLOCK)  # offices write local time
            rows.append({"推送编号": item.推送编号, "核查结果": result, "反馈时间": f"{local:%Y-%m-%d %H:%M}",
                         "核查人": f"核查员{int(rng.integers(1, 40)):02d}", "备注": ""})
        if rows:
            name = f"{path.stem}_{answered_from:%Y%m%d}_{'超时' if only_overdue else ''}反馈.csv"
            (out / name).write_bytes(pd.DataFrame(rows, columns=FEEDBACK_HEADERS).to_csv(index=False).encode("utf-8-sig"))
    return counts


def _done_result(measure_label: str, rng=None) -> str:
    if "隔离" in measure_label:
        return "已隔离"
    if "转运" in measure_label or "转送" in measure_label:
        return "已转运"
    return "已核实"
