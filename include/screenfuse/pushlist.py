"""Push lists: per street office, only what changed, and each item's life until it is closed.

A run compares the persons it fused with the push items still open before the batch
(`queries/push_items_before.sql`) and plans three kinds of change (pure, frames in and out):

- new items: a person needs a measure no open item covers (reason `new_measure`), an open item
  covers the measure but the status changed (`status_changed`, the old item is closed), or the
  person's address moved to another street office (`rerouted`: closed on the old list, a new item
  on the new one). An open item for the same person, measure and status is never pushed again.
- closes: a person who no longer needs the item's measure (status ended on its own: `expired`;
  cleared or lower: `no_longer_needed`; another measure: `measure_changed`), a person id merged
  into another (`person_merged`), or the reroute and status-change cases above.
- escalations: an item past `due_at` that nobody answered is escalated once (`escalated_at`); it
  is sent again on its street's list and on the district list, flagged 超时.

Every change names the batch that made it, so re-running a batch first undoes what it changed
(`sql/publish/delete_batch.sql`) and plans again from the same starting point.
"""
from __future__ import annotations

import hashlib
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from screenfuse.gazetteer import DISTRICT_LIST
from screenfuse.localtime import EXCEL_FORMAT, LOCAL_FORMAT, labelled, to_local
from screenfuse.policy import Policy
from screenfuse.text_keys import is_in
from screenfuse.cell_safety import write_csv
from screenfuse.xlsx import write_xlsx

ITEM_COLUMNS = ["push_item_id", "batch_id", "created_batch_id", "street", "community", "person_id", "status", "measure",
                "reason", "detail", "source_records", "due_at", "state", "created_at", "replaces_item_id",
                "policy_version"]
CLOSE_COLUMNS = ["push_item_id", "closed_at", "closed_batch_id", "close_reason"]
ESCALATE_COLUMNS = ["push_item_id", "escalated_at", "escalated_batch_id"]
OPEN_STATES = ("open", "pushed", "acknowledged", "escalated")
TRACING_LIST = "公安协查清单"  # people a street office could not find (查无此人), for the police
TRACING_HEADERS = {"push_item_id": "推送编号", "street": "反馈街道", "person_id": "人员编号", "name": "姓名",
                   "id_number": "身份证号", "phone": "联系电话", "address": "住址", "answered_at": "反馈时间",
                   "reason": "协查原因"}
PUSH_REASON_LABELS = {"new_measure": "新增措施", "status_changed": "状态变更", "rerouted": "转入",
                      "rerouted_away": "转出(已移交他街)", "escalated": "超时未反馈", "missed_check": "隔离点漏报"}
OUTBOX_HEADERS = {
    "push_item_id": "推送编号", "street": "街道", "community": "社区", "person_id": "人员编号",
    "name": "姓名", "id_number": "身份证号", "phone": "联系电话", "address": "住址",
    "status_label": "人员类别", "measure_label": "管控措施", "push_reason_label": "推送类型",
    "overdue": "超时", "detail": "推送原因", "source_records": "来源记录", "due_at": "办结时限",
    # left empty for the office: the feedback feed reads them back (contracts/feedback.yaml), so
    # the list itself, filled in, is the answer file (反馈时间 on the local clock, as typed)
    "answer_result": "核查结果", "answer_time": "反馈时间", "verifier": "核查人", "note": "备注",
}
ANSWER_HEADERS = ("核查结果", "反馈时间", "核查人", "备注")
LOCAL_TIME_COLUMNS = ("due_at", "answered_at")  # UTC in the warehouse, local (and labelled) on a list


@dataclass(frozen=True)
class PushPlan:
    new: pd.DataFrame  # ITEM_COLUMNS
    closes: pd.DataFrame  # CLOSE_COLUMNS
    escalations: pd.DataFrame  # ESCALATE_COLUMNS


def plan_push_items(persons: pd.DataFrame, items_before: pd.DataFrame, status_opens: pd.DataFrame, batch_id: str,
                    as_of: datetime, policy: Policy) -> PushPlan:
    """What this batch pushes, closes and escalates.

    `persons`: the fused persons; `items_before`: push items as they were before this batch
    (push_item_id, person_id, street, status, measure, state, due_at, answered_at); `status_opens`:
    the status-history rows this batch opens (person_id, change), see `screenfuse.lifecycle`."""
    stamp = _iso(as_of)
    change = status_opens.set_index("person_id")["change"] if len(status_opens) else pd.Series(dtype=object)
    before = items_before if len(items_before) else pd.DataFrame(columns=[
        "push_item_id", "person_id", "street", "status", "measure", "state", "due_at", "answered_at"])
    # only the persons an item can concern: those with a measure, and those with an item before
    # (a first load's million persons, a few thousand of them with a measure: indexed whole, 4 s)
    concerned = (persons["measure"].fillna("") != "").to_numpy() | is_in(persons["person_id"], before["person_id"])
    people = (persons if concerned.all() else persons[concerned]).set_index("person_id")
    open_items = before[before["state"].isin(OPEN_STATES)].copy()
    person = people.reindex(open_items["person_id"])
    now_measure = person["measure"].fillna("").to_numpy()
    now_status = person["status"].fillna("").to_numpy()
    now_street = person["responsible_list"].fillna("").to_numpy()
    exists = open_items["person_id"].isin(people.index).to_numpy()
    same_measure = open_items["measure"].to_numpy() == now_measure
    same_status = open_items["status"].to_numpy() == now_status
    same_street = open_items["street"].to_numpy() == now_street

    close_reason = pd.Series("", index=open_items.index, dtype=object)
    close_reason[~exists] = "person_merged"
    ended = exists & (now_measure == "")
    expired = open_items["person_id"].map(change).eq("expired").to_numpy()
    close_reason[ended & expired] = "expired"
    close_reason[ended & ~expired] = "no_longer_needed"
    close_reason[exists & ~ended & ~same_measure] = "measure_changed"
    close_reason[exists & same_measure & ~same_status] = "status_changed"
    close_reason[exists & same_measure & same_status & ~same_street] = "rerouted"
    # a missed isolation check is an item beside the person's measure: screenfuse.isolation closes it
    side = open_items["measure"].isin(side_measures(policy)).to_numpy()
    close_reason[exists & side] = ""
    closing = open_items[close_reason != ""]
    closes = pd.DataFrame({"push_item_id": closing["push_item_id"], "closed_at": stamp, "closed_batch_id": batch_id,
                           "close_reason": close_reason[close_reason != ""]}, columns=CLOSE_COLUMNS)

    kept = open_items[close_reason == ""]
    unanswered = kept["state"].isin(("open", "pushed")) & kept["answered_at"].fillna("").eq("")
    late = kept[unanswered & (kept["due_at"] <= stamp)]
    escalations = pd.DataFrame({"push_item_id": late["push_item_id"], "escalated_at": stamp,
                                "escalated_batch_id": batch_id}, columns=ESCALATE_COLUMNS)

    # new items: a measure no kept item covers, for a person whose status or measure changed in
    # this batch, whose item was closed for a reroute or status change, or who never had one
    needs = people[people["measure"].fillna("") != ""]
    covered = set(zip(kept["person_id"].tolist(), kept["measure"].tolist()))
    ever = set(zip(before["person_id"].tolist(), before["measure"].tolist()))
    handed_on = closing.assign(why=close_reason[close_reason != ""])
    handed_on = handed_on[handed_on["why"].isin(["rerouted", "status_changed"])]
    carried = dict(zip(handed_on["person_id"], zip(handed_on["push_item_id"], handed_on["why"])))
    # a measure still in force (an isolation verified done) follows a person who moved: the new
    # street gets an item, unless one for this measure is already there
    done = before[(before["state"] == "done") & before["person_id"].isin(people.index)]
    there = set(zip(*(before.loc[before["state"] != "closed", c] for c in ("person_id", "measure", "street"))))
    for item_id, pid, measure, street in zip(done["push_item_id"], done["person_id"], done["measure"], done["street"]):
        now = people.loc[pid]
        if (now["measure"] == measure and now["responsible_list"] != street and pid not in carried
                and (pid, measure, now["responsible_list"]) not in there and (pid, measure) not in covered):
            carried[pid] = (item_id, "rerouted")
    wanted = [(pid in change.index) or ((pid, m) not in ever) or (pid in carried)
              for pid, m in zip(needs.index, needs["measure"])]
    needs = needs[np.array(wanted, dtype=bool)]
    needs = needs[np.array([(pid, m) not in covered for pid, m in zip(needs.index, needs["measure"])], dtype=bool)]
    reason = [carried[pid][1] if pid in carried else "new_measure" for pid in needs.index]
    hours = needs["measure"].map(policy.hours_to_act).fillna(24)
    labels = needs["status"].map(policy.status_labels).fillna(needs["status"])
    new = pd.DataFrame({
        "push_item_id": [_item_id(batch_id, p, m) for p, m in zip(needs.index, needs["measure"])],
        "batch_id": batch_id,
        "created_batch_id": batch_id,
        "street": needs["responsible_list"].to_numpy(),
        "community": needs["community"].to_numpy(),
        "person_id": needs.index.to_numpy(),
        "status": needs["status"].to_numpy(),
        "measure": needs["measure"].to_numpy(),
        "reason": reason,
        "detail": (labels + ": " + needs["status_reason"].str.count(";").add(1).astype(str) + " 条来源记录").to_numpy(),
        "source_records": needs["status_reason"].to_numpy(),
        "due_at": [_iso(as_of + timedelta(hours=float(h))) for h in hours],
        "state": "open",
        "created_at": stamp,
        "replaces_item_id": [carried[pid][0] if pid in carried else None for pid in needs.index],
        "policy_version": policy.version,
    }, columns=ITEM_COLUMNS)
    return PushPlan(new.reset_index(drop=True), closes.reset_index(drop=True), escalations.reset_index(drop=True))


def side_measures(policy: Policy) -> tuple[str, ...]:
    """Measures of items that are not the person's own measure (a missed isolation check)."""
    return (policy.isolation.missed_check_measure,) if policy.isolation is not None else ()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _item_id(batch_id: str, person_id: str, measure: str) -> str:
    return "PI" + hashlib.sha1(f"{batch_id}|{person_id}|{measure}".encode()).hexdigest()[:12].upper()


def people_table(rows: pd.DataFrame, headers: dict[str, str], zone: str) -> pd.DataFrame:
    """Rows → the table people read: Chinese headers; times (LOCAL_TIME_COLUMNS) on the local
    clock as date-times, their header saying which clock (办结时限(北京时间))."""
    table = rows.reindex(columns=list(headers))
    names = dict(headers)
    for column in LOCAL_TIME_COLUMNS:
        if column in names:
            table[column] = to_local(table[column], zone)
            names[column] = labelled(headers[column], zone)
    return table.rename(columns=names)


def write_table(table: pd.DataFrame, folder: Path, name: str, sheet_name: str,
                choices: dict[str, list[str]] | None = None) -> list[Path]:
    """A list as CSV (UTF-8 with BOM, opens in Excel; times as 2020-02-11 00:30) and XLSX (times
    as date-time cells; `choices`: drop-downs of the columns a person fills in)."""
    csv_path, xlsx_path = folder / f"{name}.csv", folder / f"{name}.xlsx"
    write_csv(table, csv_path, date_format=LOCAL_FORMAT)
    write_xlsx(table, xlsx_path, sheet_name=sheet_name, datetime_format=EXCEL_FORMAT, for_people=True, choices=choices)
    return [csv_path, xlsx_path]


REASON_RECORDS = 3  # the records a list's 推送原因 names; "等N条" counts the rest
FEVER_AT = 37.3  # a temperature worth naming (seed 000: 体温≥37.3℃ is 发热)
NO_COMMUNITY = "待核实(住址未定位到社区)"
RECORD_COLUMNS_READ = "source_record_id, unit, event_time, temperature, came_from, category, nucleic_acid"


def readable_reasons(source_records: pd.Series, records: pd.DataFrame) -> pd.Series:
    """Each item's records (`;`-separated ids) as an office reads them: which unit, when (as the
    unit wrote it), what was found: 类别, 体温 at or above 37.3, 核酸, where from. `records`: the
    source_record rows (RECORD_COLUMNS_READ) by id."""
    by_id = records.drop_duplicates("source_record_id").set_index("source_record_id") if len(records) else None

    def one(record_id: str) -> str:
        if by_id is None or record_id not in by_id.index:
            return ""
        row = by_id.loc[record_id]
        text = lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip()  # noqa: E731
        when = text(row["event_time"])[5:16]  # MM-DD HH:MM
        found = [text(row["category"])]
        temperature = pd.to_numeric(row["temperature"], errors="coerce")
        if pd.notna(temperature) and temperature >= FEVER_AT:
            found.append(f"体温{temperature:g}℃")
        if text(row["nucleic_acid"]):
            found.append(f"核酸{text(row['nucleic_acid'])}")
        if text(row["came_from"]):
            found.append(f"来自{text(row['came_from'])}")
        return " ".join(part for part in [text(row["unit"]), when, *found] if part)

    def reasons(ids: str) -> str:
        named = [r for r in str(ids or "").split(";") if r]
        parts = [p for p in (one(r) for r in named[:REASON_RECORDS]) if p]
        more = len(named) - REASON_RECORDS
        return "；".join(parts) + (f" 等{len(named)}条" if more > 0 else "")

    return source_records.map(reasons)


def outbox_lists(items: pd.DataFrame, policy: Policy, records: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """A batch's list items (`queries/batch_push_list.sql`, with `push_reason`) → one table per
    list, with Chinese headers: each street office gets its new, rerouted (in and out) and
    escalated items; escalated items are also on the district list, flagged 超时. Due times are
    on the policy's clock (`timezone`), as date-times. `records`: the items' source records
    (RECORD_COLUMNS_READ): 推送原因 then says which unit found what, and when."""
    if records is not None:
        found = readable_reasons(items["source_records"], records)
        items = items.assign(detail=(items["detail"].fillna("").astype(str) + "；" + found).where(found != "", items["detail"]))
    items = items.assign(
        community=items["community"].fillna("").astype(str).replace("", NO_COMMUNITY),
        status_label=items["status"].map(policy.status_labels).fillna(items["status"]),
        measure_label=items["measure"].map(policy.measure_labels).fillna(items["measure"]),
        push_reason_label=items["push_reason"].map(PUSH_REASON_LABELS).fillna(items["push_reason"]),
        overdue=items["push_reason"].eq("escalated").map({True: "超时", False: ""}),
    )
    escalated = items[(items["push_reason"] == "escalated") & (items["street"] != DISTRICT_LIST)]
    everything = pd.concat([items, escalated.assign(street=DISTRICT_LIST)], ignore_index=True)
    return {street: people_table(by_urgency(group, policy), OUTBOX_HEADERS, policy.timezone)
            for street, group in everything.groupby("street", sort=True)}


def by_urgency(items: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """A list's rows in the order an office works them: overdue (超时) first, then the earliest
    due time (a 2-hour 确诊 transfer before a 24-hour verification), then the higher status, then
    community and item id (code point order: the same on every database)."""
    rank = {status: k for k, status in enumerate(policy.status_priority)}
    keys = pd.DataFrame({"overdue": (items["overdue"] != "超时").astype(int),
                         "due": items["due_at"].fillna("").astype(str).replace("", "~"),
                         "rank": items["status"].map(rank).fillna(len(rank)),
                         "community": items["community"].fillna("").astype(str),
                         "id": items["push_item_id"].astype(str)}, index=items.index)
    return items.loc[keys.sort_values(list(keys.columns), kind="stable").index]


@contextmanager
def replacing_folder(final: Path):
    """Yield a private folder beside `final` to write into; once everything is written it takes
    `final`'s place. Nobody (a street office's sync, a second copy of the run) ever sees a half
    written batch under `final`; a killed run leaves only a hidden `.<batch>.*` folder, which the
    next write of that batch removes (`remove_leftovers`)."""
    temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.partial")
    try:
        yield temp
        temp.mkdir(parents=True, exist_ok=True)
        for _ in range(5):  # another copy of the run may swap its folder in between: try again
            old = final.with_name(f".{final.name}.{uuid.uuid4().hex}.old")
            try:
                final.rename(old)
            except FileNotFoundError:
                pass
            try:
                temp.rename(final)
                break
            except OSError:
                continue
        else:
            raise OSError(f"could not put the outbox folder {final.name} in place")
    finally:
        shutil.rmtree(temp, ignore_errors=True)
        for old in final.parent.glob(f".{final.name}.*.old"):
            shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(final: Path) -> None:
    """Hidden folders a killed run of this batch left beside `final` (they hold personal data)."""
    for leftover in final.parent.glob(f".{final.name}.*"):
        shutil.rmtree(leftover, ignore_errors=True)


def write_outbox(items: pd.DataFrame, folder: Path, policy: Policy, records: pd.DataFrame | None = None) -> list[Path]:
    """One CSV (UTF-8 with BOM, opens in Excel) and one XLSX per list (see `outbox_lists`)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    written = []
    results = {ANSWER_HEADERS[0]: answer_results()}
    for street, table in outbox_lists(items, policy, records).items():
        written += write_table(table, folder, street, "推送清单", choices=results)
    return written


def answer_results() -> list[str]:
    """The 核查结果 values the feedback feed accepts (its contract): the push lists' drop-down."""
    from screenfuse.contracts import load_contracts

    allowed = [c.fields["result"].allowed for c in load_contracts().values() if c.kind == "answers" and "result" in c.fields]
    return list(allowed[0]) if allowed and allowed[0] else []


def write_tracing_list(tracing: pd.DataFrame, folder: Path, zone: str = "Asia/Shanghai") -> list[Path]:
    """The batch's police tracing list (公安协查清单), CSV and XLSX, next to the push lists; nothing
    when nobody was answered 查无此人. `zone`: the policy's clock, which 反馈时间 is shown on."""
    if tracing.empty:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    return write_table(people_table(tracing, TRACING_HEADERS, zone), folder, TRACING_LIST, TRACING_LIST)


ZERO_REPORT_HEADERS = {"report_day": "日期", "feed": "报送类别", "unit_type": "单位类型", "unit_id": "单位编号",
                       "unit_name": "单位名称", "street": "所属街道", "state": "报送情况"}
ZERO_REPORT_STATES = {"silent": "未报", "late": "迟报"}
# feeds and unit types as the command centre names them (a feed not listed keeps its name)
FEED_LABELS = {"checkpoint": "卡口", "police": "派出所", "hospital": "医疗机构", "community": "社区摸排",
               "feedback": "街道反馈", "mass_screening": "核酸采样点", "mass_screening_result": "检测机构",
               "arrivals": "入境专班", "city_list": "市下推清单", "pharmacy": "药店", "self_report": "自主申报",
               "isolation_monitoring": "隔离点监测", "isolation_point": "隔离点", "review": "匹配复核"}


def write_zero_report(silent: pd.DataFrame, folder: Path) -> list[Path]:
    """One daily report per day checked in the batch (零报告日报_<YYYYMMDD>.csv and .xlsx, feeds and
    unit types in Chinese): the units that
    sent nothing for that day, not even a header-only file (未报), and those whose reports came
    after the deadline (迟报); header only when every unit reported on time. Units found silent on
    a day checked before whose reports came since: 迟报_<YYYYMMDD>.csv and .xlsx. `silent`: report_day,
    after_check (1: the second kind) and, per unit, the columns of ZERO_REPORT_HEADERS (unit_id
    empty for a day with none)."""
    written = []
    if silent.empty:
        return written
    folder.mkdir(parents=True, exist_ok=True)
    after = silent["after_check"].fillna(0).astype(int) if "after_check" in silent else pd.Series(0, index=silent.index)
    for (later, day), group in silent.groupby([after, silent["report_day"]], sort=True):
        rows = group[group["unit_id"].fillna("") != ""].assign(state=lambda g: g.get("state", "silent"))
        rows["state"] = rows["state"].map(ZERO_REPORT_STATES)
        for column in ("feed", "unit_type"):
            rows[column] = rows[column].map(FEED_LABELS).fillna(rows[column])
        table = rows.reindex(columns=list(ZERO_REPORT_HEADERS)).rename(columns=ZERO_REPORT_HEADERS)
        name = f"{'迟报' if later else '零报告日报'}_{str(day).replace('-', '')}"
        written += write_table(table, folder, name, name[:31])
    return written
