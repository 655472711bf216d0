"""The command centre's figures of the day in `screenfuse summary`: 新增 / 存量 / 清零 per
category, the 应收尽收 backlog with its oldest wait, the share of new cases already under
management (seed 001, 逐例倒查) and where people are held now. Counts only, no personal data; the
figures themselves are the views of sql/views.sql (docs/warehouse.md, "Daily figures"), so BI
tools and the summary agree."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from screenfuse import warehouse
from screenfuse.policy_city_lists import unmapped_categories

CATEGORY_ORDER = ["confirmed", "asymptomatic", "suspected", "fever", "close_contact"]
BACKLOG = [("confirmed", "confirmed not admitted (确诊未收治)"), ("suspected", "suspected not isolated (疑似未隔离)"),
           ("close_contact", "close contacts not isolated (密接未隔离)")]
PLACE_ORDER = ["designated_hospital", "fangcang", "fever_clinic", "isolation_point", "home", "community", "deceased",
               "unknown"]


def command_centre_lines(engine, timezone: str, pad, city_lists=None) -> list[str]:
    """The "command centre, today" block; `timezone`: the configured policy's (the views count
    local days at v_local_clock's offset, and the block says so when the two differ); `pad`
    aligns CJK text; `city_lists`: the configured policy's (which categories it maps)."""
    day = warehouse.read_frame(engine, "queries/summary_report_day.sql")
    if day.empty:
        return ["command centre: no report day yet (no published run)"]
    today = day.iloc[0]
    lines = [f"command centre, {today.day} (figures as of {str(today.as_of_local)[11:16]} local time, "
             f"the day's last run)"]
    lines += _clock_note(engine, timezone, str(today.as_of))
    figures = warehouse.read_frame(engine, "queries/summary_day_figures.sql").set_index("status")
    lines.append(f"  {pad('category 新增/存量/清零', 25)} {'new':>6} {'standing':>9}  zero")
    for status in [s for s in CATEGORY_ORDER if s in figures.index]:
        f = figures.loc[status]
        zero = "存量清零" if int(f.standing_zero) else "新增清零" if int(f.new_zero) else ""
        lines.append(f"  {status:<17} {pad(f.label, 7)} {int(f.new_persons):>6} {int(f.standing):>9}  {zero}".rstrip())
    backlog = warehouse.read_frame(engine, "queries/summary_backlog.sql").set_index("status")
    lines.append("  应收尽收 at the day's end (v_admission_backlog):")
    for status, label in BACKLOG:
        if status in backlog.index:
            b = backlog.loc[status]
            lines.append(f"    {pad(label, 42)} {int(b.persons):>6}, longest waiting {float(b.oldest_hours):.1f} h")
        else:
            lines.append(f"    {pad(label, 42)} {0:>6}")
    trace = warehouse.read_frame(engine, "queries/summary_traceback.sql").fillna(0).iloc[0]
    cases, managed = int(trace.new_cases), int(trace.under_management)
    share = f" ({100 * managed / cases:.0f} %)" if cases else ""
    lines.append(f"  new confirmed/suspected cases already under management (seed 001 倒查): {managed} of {cases}"
                 f"{share}; {cases - managed} to trace back (v_case_traceback)")
    places = warehouse.read_frame(engine, "queries/summary_whereabouts.sql").set_index("place")
    held = [f"{places.loc[p, 'place_label']} {int(places.loc[p, 'persons'])}" for p in PLACE_ORDER if p in places.index]
    lines.append("  where people are held now (v_person_whereabouts): " + (", ".join(held) if held else "nobody"))
    return lines + arrival_lines(engine, city_lists, pad)


def arrival_lines(engine, city_lists, pad) -> list[str]:
    """Arrivals counted until placed (seed 000 l.43) and the city's lists by category (seed 002
    l.34), naming the categories the policy does not map (kept, checked at the door)."""
    a = warehouse.read_frame(engine, "queries/summary_arrivals.sql").fillna(0).iloc[0]
    lines = [f"  arrivals (入境/一人一档) not yet placed (v_arrivals_unplaced): {int(a.persons)} of {int(a.arrived)} "
             f"registered, longest {float(a.oldest_hours):.1f} h; {int(a.district_list)} on the district list "
             "(destination routed to no street)"]
    lists = warehouse.sort_rows(warehouse.read_frame(engine, "queries/summary_city_lists.sql"), ["category"])
    if lists.empty:
        return lines + ["  city lists (市下推重点人员): none received"]
    unknown = lists[unmapped_categories(lists["category"], city_lists)]
    named = ", ".join(f"{c.category} {int(c.records)}" for c in unknown.itertuples()) or "none"
    lines.append(f"  city lists (市下推重点人员, v_city_list_categories): {int(lists['records'].sum())} rows, "
                 f"{len(lists)} categories; not mapped by the policy (kept, 上门核查): {named}")
    return lines


def _clock_note(engine, timezone: str, as_of: str) -> list[str]:
    """A line when the views' fixed offset (v_local_clock) is not the policy's clock at `as_of`."""
    clock = warehouse.read_frame(engine, "queries/summary_local_clock.sql").iloc[0]
    moment = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    offset = moment.astimezone(ZoneInfo(timezone)).utcoffset().total_seconds() / 3600
    if offset == float(clock.utc_offset_hours):
        return []
    return [f"  note: the views count local days at UTC{int(clock.utc_offset_hours):+d} ({clock.timezone}); "
            f"the policy's timezone {timezone} is UTC{offset:+g}"]
