"""The secret scan: no password, token or key in a file git tracks, beyond the known examples of
.secrets.baseline (placeholders such as user:pass@host in the docs, the test server's password).
A new finding fails `make test`; audit it, then either remove it or (a placeholder) add it with
`detect-secrets scan $(git ls-files) --baseline .secrets.baseline`."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOK = Path(sys.executable).with_name("detect-secrets-hook")


NEW_SECRETS, BASELINE_LINES_MOVED = 1, 3  # the hook's exit codes (0: nothing new, lines as recorded)


def _hook(files: list[str], tmp_path) -> subprocess.CompletedProcess:
    """The pre-commit hook against a copy of the baseline (it rewrites a baseline whose line
    numbers moved: the tracked file is left alone)."""
    baseline = tmp_path / "baseline.json"
    shutil.copyfile(ROOT / ".secrets.baseline", baseline)
    return subprocess.run([str(HOOK), "--baseline", str(baseline), *files], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.skipif(not (ROOT / ".git").exists() or not shutil.which("git"), reason="not a git checkout")
def test_no_secret_in_tracked_files(tmp_path):
    files = [f for f in subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout.split() if f != ".secrets.baseline"]
    done = _hook(files, tmp_path)
    assert done.returncode in (0, BASELINE_LINES_MOVED), done.stdout[-3000:]


def test_the_scan_finds_a_planted_secret(tmp_path):
    planted = ROOT / "tests" / f".planted_{tmp_path.name}.py"
    try:
        planted.write_text('warehouse_password = "Zr8q2LwP0vXk4NcT"\naws = "AKIAIOSFODNN7EXAMPLF"\n', encoding="utf-8")
        done = _hook([str(planted.relative_to(ROOT))], tmp_path)
    finally:
        planted.unlink()
    assert done.returncode == NEW_SECRETS and "Secret Keyword" in done.stdout
