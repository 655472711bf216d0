"""SIGKILL at random moments of a batch, then the retry: the warehouse (every table's content)
and the outbox equal a clean run's, on SQLite and PostgreSQL; no row lost, none duplicated."""
from __future__ import annotations

import pytest

import harness
from harness import TRIALS, scenario  # noqa: F401 - the fixture


# in one process, as an hour's batch runs; each stage in a child process of its own, as a large
# batch's do (SCREENFUSE_STAGE_PROCESS_MB, here 0 so that this small one does): the kill then
# hits the run, and its stage's child must die with it and take nothing further
@pytest.mark.parametrize("stages", ["in one process", "each in a child"])
def test_a_batch_killed_anywhere_and_retried_equals_a_clean_run(scenario, stages):
    isolated = stages == "each in a child"
    trials = max(5, TRIALS // 4) if isolated else TRIALS
    env = {"SCREENFUSE_STAGE_PROCESS_MB": "0"} if isolated else None  # an hour's few MB run in one process
    report = harness.kill_trials(scenario, trials, seed=20200210 + isolated, env=env)
    where = ", ".join(f"{stage} {n}" for stage, n in sorted(report.killed_at.items(), key=lambda kv: -kv[1]))
    print(f"\n{scenario.kind}, stages {stages}: {report.trials} trials (clean run {report.window:.1f} s); "
          f"killed in: {where}; rows lost {report.lost}, duplicated or extra {report.extra}, "
          f"outbox different {report.outbox_differs}")
    assert report.failures == []
    assert report.trials == trials and report.lost == 0 and report.extra == 0
    # the kills did land inside the run, at more than one stage, most of them before it ended
    killed = {stage for stage in report.killed_at if stage != "finished"}
    assert len(killed) >= min(3, trials // 5) and report.finished_before_kill < trials / 2
