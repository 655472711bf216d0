"""The engine's work spread over the cores with threads, where numpy does it without the
interpreter lock (sorting, gathering, comparing arrays, pandas' integer hashing): one process, so
nothing is copied and nothing is pickled.

Every helper gives the same result as its one-thread form, in the same order; only the time
differs. More threads hold more temporaries at once, so the engine uses at most `MAX_THREADS`.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

import numpy as np

MAX_THREADS = 2  # past two, memory grows with the temporaries and the gain on sorts flattens
SPLIT_SORT_FROM = 1_000_000  # smaller arrays sort in one piece: threads cost more than they save

_inside = threading.local()  # set in the engine's worker threads

T = TypeVar("T")
R = TypeVar("R")


def threads() -> int:
    """The threads the engine uses: the cores this process may run on, at most MAX_THREADS."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(usable, MAX_THREADS))


def each(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """work(item) for every item, the results in the items' order; in threads when there are
    several cores and several items. An exception in any item is raised here."""
    items = list(items)
    count = 1 if getattr(_inside, "worker", False) else min(threads(), len(items))
    if count <= 1:  # one core, one item, or already in a worker (no threads within threads)
        return [work(item) for item in items]

    def in_worker(item: T) -> R:
        _inside.worker = True
        return work(item)

    with ThreadPoolExecutor(count, thread_name_prefix="screenfuse-engine") as pool:
        return list(pool.map(in_worker, items))


def parts(length: int, smallest: int = 100_000) -> list[slice]:
    """`length` rows cut into one contiguous part per thread (one part when that would leave
    parts under `smallest` rows): views, not copies, of arrays sliced by them."""
    count = max(1, min(threads(), length // max(smallest, 1)))
    bounds = np.linspace(0, length, count + 1).astype(np.int64)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def sort_in_place(values: np.ndarray) -> None:
    """`values.sort()`, with large arrays sorted in one piece per thread and the sorted pieces
    then merged by numpy's stable sort, which finds the runs and merges them in one pass."""
    count = threads()
    if count <= 1 or len(values) < SPLIT_SORT_FROM:
        values.sort()
        return
    each(lambda rows: values[rows].sort(), parts(len(values), SPLIT_SORT_FROM // count))
    values.sort(kind="stable")
