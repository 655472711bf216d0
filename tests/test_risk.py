"""Community risk levels from the persons living in each community (no Airflow)."""
import json

import pandas as pd

from screenfuse.policy import default_policy
from screenfuse.risk import community_levels

COMMUNITIES = pd.DataFrame({"street": ["甲街道", "甲街道", "乙街道"], "community": ["一社区", "二社区", "三社区"]})


def test_levels_follow_the_policy_thresholds():
    persons = pd.DataFrame({
        "person_id": [f"P{i}" for i in range(6)],
        "status": ["confirmed", "confirmed", "confirmed", "asymptomatic", "none", "fever"],
        "community": ["一社区", "一社区", "一社区", "二社区", "三社区", ""],
    })
    policy = default_policy()
    levels = community_levels(persons, COMMUNITIES, policy, "B1").set_index("community")
    assert levels.loc["一社区", "risk_level"] == "epidemic_area" and levels.loc["一社区", "risk_label"] == "疫区"
    assert levels.loc["二社区", "risk_level"] == "epidemic_spot"
    default = policy.risk_levels[-1]
    assert levels.loc["三社区", "risk_level"] == default.name and levels.loc["三社区", "persons"] == 0
    assert json.loads(levels.loc["一社区", "counts_json"]) == {"confirmed": 3}
    assert levels.loc["一社区", "risk_rank"] == 1 and (levels["batch_id"] == "B1").all()
    assert "lock_down_community" in levels.loc["一社区", "actions"]
