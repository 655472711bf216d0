"""The machine line both benchmark scripts print: cores, CPU, RAM, OS, Python, the libraries that
matter to the measurement, and the commit measured."""
from __future__ import annotations

import os
import platform
import subprocess
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
