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


def test_each_run_rates_the_communities_of_every_person_the_warehouse_then_holds(tmp_path, monkeypatch):
    """A first load has no stored person to count (stage_publish.rate_communities reads none): its
    levels are those of the persons it publishes. A later run counts the stored persons it did not
    fuse again beside those it did."""
    from datetime import date, datetime, timezone

    import sqlalchemy as sa

    from screenfuse import schema
    from screenfuse.config import load_settings
    from screenfuse.gazetteer import load_gazetteer
    from screenfuse.pipeline import run_batch
    from screenfuse.synthetic import generate
    from screenfuse.warehouse import engine_for

    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", f"sqlite:///{home / 'warehouse.db'}")
    home.mkdir()
    generate(60, 6, date(2020, 2, 10), home / "landing", home / "truth")
    settings = load_settings()
    engine = engine_for(settings.warehouse_url)
    schema.upgrade(engine)
    columns = ["community", "risk_level", "persons", "counts_json"]
    for end, day in ((datetime(2020, 2, 10, 13, tzinfo=timezone.utc), None),
                     (datetime(2020, 2, 10, 14, tzinfo=timezone.utc), date(2020, 2, 10))):
        if day is not None:  # other people an hour later: the first hour's persons are only stored
            generate(20, 7, day, home / "landing", home / "truth2")
        batch = run_batch(settings, end)["batch_id"]
        persons = pd.read_sql("SELECT person_id, status, community FROM person", engine)
        stored = pd.read_sql(sa.text("SELECT community, risk_level, persons, counts_json FROM community_risk "
                                     "WHERE batch_id = :b"), engine, params={"b": batch})
        expected = community_levels(persons, load_gazetteer().communities, default_policy(), batch)
        assert stored["persons"].sum() > 0  # some of the persons have a status the levels count
        assert stored.sort_values("community")[columns].reset_index(drop=True).equals(
            expected.sort_values("community")[columns].reset_index(drop=True))
