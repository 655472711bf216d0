"""A feed's files read and normalized (`ingest.read_file`, then `ingest.normalize_files`), across
the machine's cores when the delivery is large.

A first load's mass screening is hundreds of files and a million rows: read and normalized in
one process, that is a minute of one core while the others wait. The files are cut into runs of
about equal bytes, in their order; each worker reads and normalizes its runs (files of one layout
together, as `normalize_files` does) and sends their records back. Every normalizer works value
by value, so a row comes out the same whichever worker took its file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from screenfuse.contracts import FeedContract
from screenfuse.forked import cores, map_forked
from screenfuse.gazetteer import Gazetteer
from screenfuse.ingest import StagedFile, normalize_files, read_file

PARALLEL_FROM_BYTES = 32 * 2**20  # below it, forking and sending the records back cost more than they save
RUN_BYTES = 16 * 2**20  # a worker's run: its rows' working memory is what a worker adds (1,000,000 rows: 2.6 GB read
# in one process; 2.0 GB for the process tree in runs of this size, 3.3 GB in runs of 40 MB)


def read_files(paths: list[Path], shas: list[str], contract: FeedContract, gazetteer: Gazetteer,
               workers: int | None = None, parallel_from_bytes: int = PARALLEL_FROM_BYTES,
               zone: str | None = None) -> dict[str, StagedFile]:
    """Each file read and its rows normalized, by its SHA-256 (`shas`, one per path); `zone` as
    `normalize_files` takes it."""
    sizes = np.array([_size(path) for path in paths], dtype=np.int64)
    workers = workers or cores()
    if workers > 1 and len(paths) > 1 and sizes.sum() >= parallel_from_bytes:
        # at least two runs a worker (one slow run does not hold up the others long), cut where the
        # running total of bytes crosses each equal share
        count = max(2 * workers, -(-int(sizes.sum()) // RUN_BYTES))
        ends = np.searchsorted(np.cumsum(sizes), sizes.sum() * np.arange(1, count) / count, side="right")
        bounds = sorted(set([0, *ends.tolist(), len(paths)]))
        runs = [list(zip(paths[a:b], shas[a:b])) for a, b in zip(bounds, bounds[1:]) if b > a]
    else:
        runs, workers = [list(zip(paths, shas))], 1
    done = map_forked(lambda run: _read_run(run, contract, gazetteer, zone), runs, workers)
    return {staged.file_sha256: staged for run in done for staged in run}


def _read_run(run: list[tuple[Path, str]], contract: FeedContract, gazetteer: Gazetteer,
              zone: str | None = None) -> list[StagedFile]:
    """A run's files read, then normalized together. A file gone since it was listed is left out:
    the caller finds it gone and quarantines it, and the rest of the feed goes on."""
    files = []
    for path, sha in run:
        try:
            files.append(read_file(path, contract, sha))
        except FileNotFoundError:
            continue
    normalize_files(files, contract, gazetteer, zone)
    return files


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone since it was listed: _read_run leaves it out
        return 0
