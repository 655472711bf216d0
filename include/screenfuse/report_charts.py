"""The run report's charts as SVG, and the cache that spares an hour most of their cost.

Rendering is most of an hour without new files; its charts are mostly the last hour's, so each
rendered chart is kept under `reports/.charts/` by the hash of what it is drawn from (its data,
the report's code, the chart libraries' versions) and read back; the chart engine (vl-convert) is
started only when a chart is not in the cache. Each chart's specification is kept there too,
without its data, and filled with the next data: Altair is imported only for a chart never drawn
before.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHART_CACHE = ".charts"  # under the reports folder: rendered charts by the hash of what they are drawn from
CHART_CACHE_DAYS = 2  # a cached chart no report used for this long is dropped


# the code this process draws with: the charts' builders (run_report) and this module
_CODE = hashlib.sha256(Path(__file__).with_name("run_report.py").read_bytes() + Path(__file__).read_bytes()).hexdigest()
_DRAWN_BY: str | None = None  # with the chart libraries' versions, read once


def chart_key(title: str, frame: pd.DataFrame) -> str:
    """What a chart is drawn from: its title, its data, and the code and libraries that draw it
    (this module's text, Altair's and vl-convert's versions). Known without Altair: a cached chart
    costs no specification (Altair validates each one it builds), and a report whose charts are
    all cached never imports Altair (half a second). An hour's report still draws "The last runs"
    anew: the hour is in it."""
    global _DRAWN_BY
    if _DRAWN_BY is None:
        from importlib.metadata import version

        _DRAWN_BY = f"{_CODE} altair {version('altair')} vl-convert {version('vl-convert-python')}"
    # JSON keeps a missing value apart from empty text, as the chart does
    data = frame.to_json(orient="split", index=False, date_format="iso", default_handler=str) \
        + repr(list(frame.dtypes.astype(str)))
    return hashlib.sha256("\0".join([_DRAWN_BY, title, data]).encode("utf-8")).hexdigest()


def chart_svg(title: str, frame: pd.DataFrame, draw, cache: Path | None = None) -> str:
    """The chart `draw()` builds, as SVG. With a cache folder, a chart an earlier report drew from
    the same data (`_chart_key`) is read from there: rendering is most of an hour without new
    files (a second per five charts), and most charts of such an hour are the last hour's."""
    if cache is None:
        return _render(chart_spec(title, frame, draw))
    path = cache / (chart_key(title, frame) + ".svg")
    svg = _cached(path)
    if svg:
        return svg
    svg = _render(chart_spec(title, frame, draw, cache))
    _keep(path, svg)
    return svg


DATA = "table"  # a chart's one dataset, by this name whichever way its specification was made


def chart_spec(title: str, frame: pd.DataFrame, draw, cache: Path | None = None) -> dict:
    """The chart's Vega-Lite specification: its shape is what the code says, its data the frame's
    rows (a chart's build never reads the values). With a cache folder the shape is kept there, by
    title, code and column kinds, and filled with the next data: an hour draws "The last runs"
    anew without importing Altair or building its specification (0.4 s). Data `_values` does not
    write as Altair does (dates, categories, infinities) is left to Altair, and so is a shape
    marked `null`: one whose first data came out otherwise."""
    path = None if cache is None else cache / (chart_key(title, frame.iloc[:0]) + ".json")  # the columns' kinds
    values = _values(frame) if path is not None else None
    text = _cached(path) if path is not None else ""
    if text and values is not None:
        shape = json.loads(text)
        if shape is not None:  # null: a shape left to Altair
            return {**shape, "datasets": {DATA: values}}
    built = draw().to_dict()
    names = list(built.get("datasets", {}))
    if len(names) != 1 or built.get("data") != {"name": names[0]}:  # not one dataset: as Altair built it
        return built
    spec = {**built, "data": {"name": DATA}, "datasets": {DATA: built["datasets"][names[0]]}}
    if path is not None and not text and values is not None:
        same = json.dumps(spec["datasets"][DATA], sort_keys=True) == json.dumps(values, sort_keys=True)
        _keep(path, json.dumps({k: v for k, v in spec.items() if k != "datasets"} if same else None))
    return spec


def _values(frame: pd.DataFrame) -> list[dict] | None:
    """A frame's rows as Altair writes them into a specification (numbers, booleans, text; None for
    a missing number or a missing value of a text column), or None when a column holds anything
    else (Altair writes a missing value of an object column as NaN, a date as text, ±inf as None)."""
    columns = {}
    for name, column in frame.items():
        kind = column.dtype.kind
        if (kind == "f" and not np.isinf(column.to_numpy()).any()) or isinstance(column.dtype, pd.StringDtype):
            columns[name] = column.astype(object).where(column.notna(), None)
        elif kind in "iub":
            columns[name] = column.astype(object)
        elif kind == "O" and pd.api.types.infer_dtype(column, skipna=False) in ("string", "empty"):  # text only
            columns[name] = column
        else:
            return None
    return pd.DataFrame(columns, index=frame.index).to_dict(orient="records")


def _cached(path: Path) -> str:
    """A cached chart or shape's text, marked as used (kept by the pruning); '' when there is none
    (or another report's pruning took it meanwhile)."""
    try:
        text = path.read_text(encoding="utf-8")
        os.utime(path)
    except (FileNotFoundError, UnicodeDecodeError):
        return ""
    return text


def _keep(path: Path, text: str) -> None:
    """Write a cached chart or shape whole: two writers of one never read half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(f".{os.getpid()}.partial")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)


def _render(spec: dict) -> str:
    """A chart the cache does not hold. The engine starts at the first one (half a second), so an
    hour whose charts are all cached never starts it; it is not started ahead in a thread either:
    vl-convert holds the interpreter while it starts, so nothing would run meanwhile."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(spec)


def prune_charts(cache: Path, now: float | None = None) -> int:
    """Drop cached charts no report used for CHART_CACHE_DAYS; returns how many."""
    if not cache.is_dir():
        return 0
    limit, dropped = (now or time.time()) - CHART_CACHE_DAYS * 86400, 0
    for path in cache.iterdir():  # a half-written chart of a killed writer too
        try:
            unused = path.stat().st_mtime < limit
        except FileNotFoundError:  # another report's pruning took it
            continue
        if unused:
            path.unlink(missing_ok=True)
            dropped += 1
    return dropped
