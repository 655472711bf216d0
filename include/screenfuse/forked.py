"""Work split across the machine's cores, in worker processes forked from this one.

Fork, not forkserver or spawn: those run the caller's main script again in every worker (a user's
script without a `__main__` guard would re-run itself). The tasks reach the workers in the memory
they fork from, not pickled (millions of values cost seconds to pickle and unpickle): only a
task's number travels there, and its result travels back. Each worker dies with the process that
forked it: killed from outside, that process could not stop them itself.
"""
from __future__ import annotations

import itertools
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Callable, Sequence, TypeVar

from screenfuse.stage_process import forked_start, release_memory

Task = TypeVar("Task")
Result = TypeVar("Result")

_CALLS: dict[int, tuple[Callable, Sequence]] = {}  # each call's function and tasks, read by the workers it forks
_NUMBERS = itertools.count()


def cores() -> int:
    """The cores this process may run on (at most 8: past that the parent's share of the work,
    spreading the results back, is what takes the time)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(usable, 8))


def _run(call: int, number: int) -> bytes:
    """One task, in a worker. Its result is pickled here and the worker's memory given back before
    it travels: a worker idles until the last task is done, and what it would hold meanwhile (a
    large result's working memory, kept by the C heap) would add to the parent's copy of it."""
    function, tasks = _CALLS[call]
    result = pickle.dumps(function(tasks[number]), protocol=pickle.HIGHEST_PROTOCOL)
    release_memory()
    return result


def map_forked(function: Callable[[Task], Result], tasks: Sequence[Task], workers: int) -> list[Result]:
    """`[function(task) for task in tasks]`, in order, over `workers` forked processes (here, in
    this process, when one worker or one task would do)."""
    if workers <= 1 or len(tasks) <= 1:
        return [function(task) for task in tasks]
    call = next(_NUMBERS)
    _CALLS[call] = (function, tasks)
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=get_context("fork"),
                                 initializer=forked_start, initargs=(os.getpid(),)) as pool:
            return [pickle.loads(result) for result in pool.map(_run, [call] * len(tasks), range(len(tasks)))]
    finally:
        del _CALLS[call]
