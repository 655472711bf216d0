"""Sections 8 and 9 of `benchmarks/run.py`, which run in the project's own venv (`.venv`, `make
venv`): the pipeline (`screenfuse run`) and the labels need what the benchmark venv does not hold.

  8. Incremental at scale (`benchmarks/incremental.py`): a warehouse of N records built by the
     pipeline, then H hourly batches; precision after the last against a batch run's.
  9. Labels (`benchmarks/labels.py`): F1 on the rest of the review band before and after
     calibrating on 500 labelled pairs drawn from it.

Each script runs as a subprocess; its markdown table and its "Target" line are taken as printed.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"


def _script(args: list[str]) -> tuple[str, list[str]]:
    """(the script's table, its target lines); a missing venv or a failure is said in both."""
    if not PROJECT_PYTHON.exists():
        why = f"not run: the project venv ({PROJECT_PYTHON.relative_to(ROOT)}) is missing; `make venv` makes it"
        return why, [f"- {args[0]}: {why} — NO"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "include"),
                                                                      str(ROOT / "benchmarks")]))}
    print(f"[run.py] {' '.join(args)} (project venv) ...", file=sys.stderr, flush=True)
    done = subprocess.run([str(PROJECT_PYTHON), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    lines = done.stdout.strip().splitlines()
    table = "\n".join(line for line in lines if not line.startswith("Target"))
    targets = [f"- {line.removeprefix('Target ')}" for line in lines if line.startswith("Target")]
    if done.returncode or not targets:
        targets.append(f"- {args[0]}: exit {done.returncode}, no verdict printed — NO")
    return table, targets


def incremental(records: int, batches: int) -> tuple[str, list[str]]:
    table, targets = _script(["benchmarks/incremental.py", "--records", str(records), "--batches", str(batches)])
    return f"**8. Incremental at scale** ({records:,} records, then {batches} hourly batches of 10,000):\n\n{table}", targets


def labels(people: int, seeds: str) -> tuple[str, list[str]]:
    table, targets = _script(["benchmarks/labels.py", "--people", str(people), "--seeds", seeds])
    return f"**9. Labels** ({people:,} people, seeds {seeds}):\n\n{table}", targets
