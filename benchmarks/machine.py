"""What the benchmark scripts share: the machine line they print (cores, CPU, RAM, OS, Python,
the libraries that matter to the measurement, the commit measured) and the way they measure a
command (wall time, and the peak memory of its whole process tree), and how a section of
docs/benchmarks.md is replaced."""
from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine_line(libraries: tuple[str, ...]) -> str:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    commit = git("rev-parse", "--short", "HEAD") + (" with uncommitted changes" if git("status", "--porcelain") else "")
    libs = ", ".join(f"{p} {version(p)}" for p in libraries)
    return (f"{os.cpu_count()} logical cores ({cpu}), {ram:.1f} GiB RAM, {platform.platform()}, "
            f"Python {platform.python_version()}; {libs}; screenfuse at commit {commit}")


def memory(process) -> int:
    """Bytes of memory a process holds, shared pages divided among the processes sharing them
    (PSS, from /proc/<pid>/smaps_rollup), so a tree's sum counts a page forked workers share with
    their parent once; RSS where the kernel gives no PSS."""
    try:
        with open(f"/proc/{process.pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return process.memory_info().rss


# how often the tree's memory is read: the kernel walks every page of each process to give its PSS
# (34 ms a sample over a first load's 2.7 GB tree), and every 0.1 s that took 23 s of CPU from a
# 2-core machine's 2-minute run, about 5 % of its wall time; every 0.5 s, 6 s (docs/benchmarks.md)
SAMPLE_SECONDS = 0.5


def run_measured(command: list[str], **popen) -> tuple[subprocess.Popen, float, float]:
    """Run `command` to its end: the finished process, wall seconds, and the peak MB of the summed
    PSS of the process and all its children (sampled every SAMPLE_SECONDS; forked workers count)."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(command, **popen)
    peak, root = 0, psutil.Process(proc.pid)
    while proc.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += memory(p)
                except (psutil.Error, ValueError):
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(SAMPLE_SECONDS)
    return proc, time.perf_counter() - start, peak / 2**20


def settle(warehouse_files: list[Path]) -> None:
    """The state an hour starts from on a server that runs them one after another: the last run's
    writes on disk, the warehouse's files in the page cache."""
    os.sync()
    for root in warehouse_files:
        for path in ([root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())):
            try:
                with open(path, "rb", buffering=0) as handle:
                    while handle.read(16 * 1024 * 1024):
                        pass
            except OSError:  # a file the server removed meanwhile, or one it keeps to itself
                continue


def replace_section(doc: Path, heading: str, section: str) -> None:
    """Put `section` (which starts with `heading`) in place of the doc's section of that heading,
    up to the next `## ` heading, or at the end when the doc has none."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + len(heading))
        text = text[:start].rstrip() + "\n\n" + section + (text[end:] if end >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    doc.write_text(text, encoding="utf-8")
