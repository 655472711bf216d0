"""Which landed files a batch takes: its manifest.

A file is taken once. Files an earlier published batch took are recognised by feed, name, size
and modification time, without reading them again; only files new by those marks are hashed
(SHA-256, kept for duplicate detection). A file modified less than `settle_seconds` ago may still
be being written: it waits for a later run. The manifest is stored with the batch, so re-running
the batch takes exactly the same files, whatever has landed since.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd

from screenfuse import warehouse
from screenfuse.contracts import FeedContract
from screenfuse.ingest import discover_files, storable_name
from screenfuse.readers import sha256_of

MANIFEST_COLUMNS = ["batch_id", "feed", "file_name", "file_size", "file_mtime_ns", "file_sha256"]
DEFAULT_SETTLE_SECONDS = 60

log = logging.getLogger(__name__)


def settle_seconds() -> float:
    """How long a file must be left untouched before it is read (SCREENFUSE_SETTLE_SECONDS)."""
    from screenfuse.config import seconds_from_env

    return seconds_from_env("SCREENFUSE_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS)


def take_files(engine, batch_id: str, landing: Path, contracts: dict[str, FeedContract],
               settle: float, now: float | None = None) -> tuple[pd.DataFrame, dict]:
    """The batch's manifest: the stored one when the batch already took its files, else the
    settled files no published batch took, which is then stored. Returns (manifest, counts); the
    counts' `bytes` is the files' total size (how large the batch will be)."""
    with engine.begin() as conn:
        warehouse.lock_for_publish(conn)  # two starts of one batch at once: the second finds the first's manifest
        stored = warehouse.query_frame(conn, "SELECT * FROM batch_manifest WHERE batch_id = :b", b=batch_id)
        if len(stored):  # taken before (the row with no feed marks a manifest, even an empty one)
            stored = stored[stored["feed"] != ""][MANIFEST_COLUMNS].reset_index(drop=True)
            return stored, {"files": len(stored), "bytes": int(stored["file_size"].sum()), "reused_manifest": True,
                            "waiting": 0}
        now = time.time() if now is None else now
        listed, touched = [], []
        for feed, contract in sorted(contracts.items()):
            utf8_names(landing / feed, contract, settle, now)
            for path in discover_files(landing, contract):
                info = path.stat()
                listed.append((feed, path.name, info.st_size, info.st_mtime_ns))
                touched.append(last_touched(info, now))
        listing = pd.DataFrame(listed, columns=["feed", "file_name", "file_size", "file_mtime_ns"])
        waiting = pd.Series(touched, index=listing.index, dtype="int64") > (now - settle) * 1e9
        taken = _not_taken_before(conn, listing[~waiting])
        manifest = taken.assign(batch_id=batch_id, file_sha256=[
            sha256_of(landing / feed / name) for feed, name in zip(taken["feed"], taken["file_name"])])[MANIFEST_COLUMNS]
        marker = pd.DataFrame([{"batch_id": batch_id, "feed": "", "file_name": "", "file_size": 0, "file_mtime_ns": 0,
                                "file_sha256": ""}])
        warehouse.bulk_insert(conn, "batch_manifest", pd.concat([marker, manifest], ignore_index=True))
    return manifest, {"files": len(manifest), "bytes": int(manifest["file_size"].sum()), "reused_manifest": False,
                      "waiting": int(waiting.sum()),
                      "seen_before": int((~waiting).sum()) - len(manifest)}


def last_touched(info: os.stat_result, now: float) -> int:
    """When a file last changed (ns), for the settle check: its modification time, unless that is
    in the future (a zip archive keeps the local times of the host that made it: unzipped on a UTC
    server, a file made in Wuhan is eight hours ahead and would wait that long); then the time its
    inode last changed (the unzip that set it), which no tool sets."""
    return info.st_mtime_ns if info.st_mtime_ns <= now * 1e9 else info.st_ctime_ns


def _not_taken_before(conn, listing: pd.DataFrame) -> pd.DataFrame:
    """Files of the listing that no published batch took with the same size and time."""
    if listing.empty:
        return listing
    warehouse.load_keys(conn, "k_landing_names", listing[["feed", "file_name"]])
    before = warehouse.query_frame(conn, """
        SELECT m.feed, m.file_name, m.file_size, m.file_mtime_ns
        FROM k_landing_names k JOIN batch_manifest m ON m.feed = k.feed AND m.file_name = k.file_name
        WHERE EXISTS (SELECT 1 FROM run_log r WHERE r.batch_id = m.batch_id)
          AND NOT EXISTS (SELECT 1 FROM ingest_file f WHERE f.batch_id = m.batch_id AND f.feed = m.feed
                          AND f.file_name = m.file_name AND f.status IN ('held', 'changed'))""")  # by (feed, file_name), indexed
    # a file held for schema drift, or changed after its batch took it (even keeping its size and
    # time), was not taken: it is offered to every run until it is read
    if before.empty:
        return listing
    before = before.astype({"file_size": "int64", "file_mtime_ns": "int64"}).assign(seen=True)
    marked = listing.merge(before.drop_duplicates(), on=["feed", "file_name", "file_size", "file_mtime_ns"], how="left")
    return marked[marked["seen"].isna()].drop(columns="seen").reset_index(drop=True)


def utf8_names(folder: Path, contract: FeedContract, settle: float, now: float) -> int:
    """Settled files whose names are not UTF-8 renamed to names that are: the same name read as
    GB18030 (Windows tools and zip archives write Chinese names in GBK), else with its bytes
    escaped (\\xff). The warehouse cannot store such a name: it stopped every run of every feed.
    Only a file the feed would take (its patterns, no leading dot) and left untouched for `settle`
    seconds (an upload under a temporary name is the uploader's to rename); never over another
    file (a link, then the old name removed: a name taken meanwhile gets the old name's hash). A
    file that cannot be renamed (gone, no right to) is left, unread (`discover_files` skips it).
    Returns how many were renamed."""
    if not folder.is_dir():
        return 0
    base, renamed = os.fsencode(folder), 0
    with os.scandir(base) as entries:
        odd = [entry for entry in entries if not storable_name(os.fsdecode(entry.name))]
    for entry in odd:
        try:
            name = entry.name.decode("gb18030")
        except UnicodeDecodeError:
            name = entry.name.decode("utf-8", errors="backslashreplace")
        if name.startswith(".") or not any(fnmatch(name.lower(), pattern) for pattern in contract.patterns):
            continue
        stem, suffix = os.path.splitext(name)
        try:
            if not entry.is_file() or last_touched(entry.stat(), now) > (now - settle) * 1e9:
                continue
            for target in (name, f"{stem}~{hashlib.sha256(entry.name).hexdigest()[:8]}{suffix}"):
                try:
                    os.link(entry.path, os.path.join(base, os.fsencode(target)))
                    break
                except FileExistsError:
                    continue
            else:
                continue
            os.unlink(entry.path)
        except OSError as error:  # gone meanwhile, no right to the folder, no links on its file system
            log.warning("%s: a file whose name is not UTF-8 could not be renamed (%s); it is not read",
                        folder.name, type(error).__name__)
            continue
        log.warning("%s: a file whose name is not UTF-8 was renamed to %s", folder.name, target)
        renamed += 1
    return renamed
