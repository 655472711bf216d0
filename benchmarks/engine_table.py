"""The engine benchmark's table, the issue's figures as this run measured them, and the top of
docs/benchmarks.md it writes (`benchmarks/run.py` measures)."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "benchmarks.md"
TARGETS: dict[str, dict] = {}  # measurements the issue sets figures for, by name


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


HEADER = ["§", "Data", "Records", "Ours s", "Ours peak MB", "Ours P", "Ours R", "Ours F1",
          "Splink s", "Splink peak MB", "Splink P", "Splink R", "Splink F1", "Ours/Splink time"]


def _cells(m: dict | None) -> list[str]:
    if m is None:
        return ["—"] * 5
    if "failed" in m:
        return [f"failed (exit {m['failed']})"] + ["—"] * 4
    peak = f"{m['peak_mb']:,.0f}" if "peak_mb" in m else "—"
    return [f"{m['seconds']:.2f}", peak, f"{m['precision']:.4f}", f"{m['recall']:.4f}",
            f"{m['f1']:.4f}"]


def row(section: str, data: str, records: str, ours: dict, splink: dict | None = None) -> list[str]:
    ratio = "—"
    if splink and "failed" not in ours and "failed" not in splink:
        ratio = f"{ours['seconds'] / splink['seconds']:.2f}"
    return [section, data, records, *_cells(ours), *_cells(splink), ratio]


def markdown(rows: list[list[str]]) -> str:
    lines = [HEADER, ["---"] * 2 + ["---:"] * (len(HEADER) - 2), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def count(m: dict) -> str:
    return f"{m['records']:,}" if "records" in m else "?"


SECTION_NOTES = HERE / "sections.md"  # what each section measures, under the tables of docs/benchmarks.md


def targets() -> str:
    """The issue's figures, each marked met (yes) or not (NO) by this run's measurements."""
    ok = lambda m: m is not None and "failed" not in m  # noqa: E731
    lines = []
    def check(what, measured, met):
        lines.append(f"- {what}: {measured} — {'yes' if met else 'NO'}")
    for name in ("febrl3", "febrl4"):
        t = TARGETS.get(name)
        if t and ok(t["ours"]) and ok(t["splink"]):
            check(f"{name.upper()} F1 at least Splink's", f"{t['ours']['f1']:.4f} vs {t['splink']['f1']:.4f}",
                  t["ours"]["f1"] >= t["splink"]["f1"])
    g = TARGETS.get("generator")
    if ok(g):
        check("F1 ≥ 0.995 on the generator's data (§2)", f"{g['f1']:.4f}", g["f1"] >= 0.995)
        if "twin_merges" in g:
            check("no twin pair merged (§2, the generator's twins.csv)", f"{g['twin_merges']} merged", g["twin_merges"] == 0)
    t = TARGETS.get("1M")
    if t and ok(t["ours"]):
        o = t["ours"]
        check("1,000,000 records end to end in ≤ 20 s and ≤ 2 GB", f"{o['seconds']:.1f} s, {o['peak_mb']:,.0f} MB",
              o["seconds"] <= 20 and o["peak_mb"] <= 2048)
        if ok(t["splink"]):
            check("faster than Splink at 1,000,000 records", f"{o['seconds']:.1f} s vs {t['splink']['seconds']:.1f} s",
                  o["seconds"] < t["splink"]["seconds"])
    from census_bench import target_lines

    lines += target_lines(TARGETS, ok)
    i = TARGETS.get("incremental")
    if ok(i):
        check("50,000 new records against 2,000,000 existing in ≤ 15 s", f"{i['seconds']:.1f} s", i["seconds"] <= 15)
    return "\n".join(lines)


def machine() -> str:
    from machine import machine_line

    return machine_line(("splink", "duckdb", "pandas", "numpy"))


def write_doc(table: str, command: str, when: str, met: str) -> None:
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    # what follows the generated part is kept: the dated "Since then" sections, then hourly.py's
    starts = [at for at in (old.find("\n## Since"), old.find("\n## Hourly pipeline")) if at >= 0]
    hourly = old[min(starts):] if starts else ""
    DOC.write_text(
        "# Benchmarks\n\n"
        "Our matching engine against Splink 5 (DuckDB backend), on FEBRL and on synthetic Chinese records. "
        "Every figure below comes from one run of the command shown, on the machine shown; "
        "this file is written by that command.\n\n"
        f"- Date: {when}\n- Machine: {machine()}\n"
        f"- Command (from the repo root, with the benchmark venv of `requirements-bench.txt`):\n\n"
        f"  ```\n  {command}\n  ```\n\n"
        f"{table}\n\n"
        "Seconds are wall time; P, R, F1 are pairwise precision, recall and F1 against the truth; "
        "— means not measured; Ours/Splink time below 1 means we are faster.\n\n"
        + (f"**The figures the engine must reach**, as measured in this run:\n\n{met}\n\n" if met else "")
        + SECTION_NOTES.read_text(encoding="utf-8") + hourly, encoding="utf-8")
    log(f"wrote {DOC}")
