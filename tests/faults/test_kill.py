"""SIGKILL at random moments of a batch, then the retry: the warehouse (every table's content)
and the outbox equal a clean run's, on SQLite and PostgreSQL; no row lost, none duplicated."""
from __future__ import annotations

import harness
from harness import TRIALS, scenario  # noqa: F401 - the fixture


def test_a_batch_killed_anywhere_and_retried_equals_a_clean_run(scenario):
    report = harness.kill_trials(scenario, TRIALS, seed=20200210)
    stages = ", ".join(f"{stage} {n}" for stage, n in sorted(report.killed_at.items(), key=lambda kv: -kv[1]))
    print(f"\n{scenario.kind}: {report.trials} trials (clean run {scenario.clean_seconds:.1f} s); killed in: {stages}; "
          f"rows lost {report.lost}, duplicated or extra {report.extra}, outbox different {report.outbox_differs}")
    assert report.failures == []
    assert report.trials == TRIALS and report.lost == 0 and report.extra == 0
    # the kills did land inside the run, at more than one stage, most of them before it ended
    killed = {stage for stage in report.killed_at if stage != "finished"}
    assert len(killed) >= min(3, TRIALS // 5) and report.finished_before_kill < TRIALS / 2
