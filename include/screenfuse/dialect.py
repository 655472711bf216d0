"""The district's dialect table: the sound confusions of names taken by ear (a form filled in from
what someone said), which the pipeline's name comparison forgives as "similar".

The table is a CSV (columns heard, written, and an optional note), one confusion a row, in
toneless pinyin: `n,l` folds n into l, so 刘 (liu) and 牛 (niu) sound alike. The shipped table is
Wuhan's (data/sound_folds.csv); a district elsewhere points `SCREENFUSE_SOUND_FOLDS` at its own
(Hunan's h/f, Sichuan's n/l and z/zh, …), and a file with the header only turns the folds off.
It is read once per process and file version; docs/matching.md says what a fold does.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from screenfuse.config import ConfigError, packaged_path
from screenfuse.matching.settings import sound_fold
from screenfuse.matching.strict_config import ConfigProblem

FOLDS_VARIABLE = "SCREENFUSE_SOUND_FOLDS"
COLUMNS = ("heard", "written")


def sound_folds_path() -> Path:
    return packaged_path(FOLDS_VARIABLE, "data/sound_folds.csv")


def sound_folds() -> tuple[tuple[str, str], ...]:
    """The dialect table the pipeline compares names with, checked: (heard, written) pairs."""
    path = sound_folds_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"dialect table {path}: cannot be read ({exc.__class__.__name__}); "
                          f"set {FOLDS_VARIABLE} to a CSV with columns heard,written") from None
    return _read(str(path), stamp)


@lru_cache(maxsize=4)
def _read(path: str, _stamp: int) -> tuple[tuple[str, str], ...]:
    fix = f"(fix the file, or set {FOLDS_VARIABLE} to a fixed one; docs/matching.md)"
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = [c.strip() for c in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"dialect table {path}: cannot be read ({exc.__class__.__name__}) {fix}") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ConfigError(f"dialect table {path}: missing column(s) {', '.join(missing)}; expected "
                          f"heard,written[,note] {fix}")
    folds = []
    for line, row in enumerate(rows, start=2):  # the header is line 1
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        try:
            folds.append(sound_fold([row.get("heard", "").lower(), row.get("written", "").lower()]))
        except ConfigProblem as problem:
            raise ConfigError(f"dialect table {path}, line {line}: heard,written {problem.problem} {fix}") from None
    return tuple(dict.fromkeys(folds))  # a pair listed twice is one fold
