"""Which units must report daily is configuration: the policy's zero_report names the feeds, the
units list names their units. A feed added there is checked without code changes; a feed without
units, or a units list naming no feed, stops with the key and the fix."""
from datetime import date

import pandas as pd
import pytest
import yaml

from screenfuse import reporting
from screenfuse.config import ConfigError
from screenfuse.policy import PolicyError, default_policy, load_policy
from screenfuse.reporting_units import units_path

FEEDS = ("checkpoint", "police", "hospital", "community", "mass_screening", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring")


def policy_with_mass_screening(tmp_path):
    from importlib import resources

    doc = yaml.safe_load(resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8"))
    doc["zero_report"]["deadline_hour"]["mass_screening"] = 18
    path = tmp_path / "policy.yaml"
    # key order kept: arrival classes are matched in their order (a sorted dump would put other_region first)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def units_with(tmp_path, *rows):
    listed = pd.read_csv(units_path(), dtype=str, keep_default_na=False)
    extra = pd.DataFrame(list(rows), columns=["unit_id", "unit_type", "unit_name", "street"])
    path = tmp_path / "units.csv"
    pd.concat([listed, extra]).to_csv(path, index=False)
    return path


def test_every_feed_of_the_default_policy_has_its_units():
    feeds = set(default_policy().zero_report.deadline_hour)
    assert feeds == {"checkpoint", "police", "hospital", "community", "arrivals", "pharmacy", "isolation_monitoring"}  # arrivals: the hubs (四站一场)
    assert set(reporting.expected_units(feeds)["unit_type"]) == feeds


def test_a_feed_named_in_the_policy_without_units_is_refused_with_the_fix(tmp_path):
    with pytest.raises(PolicyError) as caught:
        load_policy(policy_with_mass_screening(tmp_path), FEEDS)
    assert caught.value.key == "zero_report.deadline_hour.mass_screening"
    assert "list the units of feed mass_screening in reporting_units.csv" in str(caught.value)
    assert "or remove mass_screening here" in str(caught.value)


def test_a_unit_type_added_in_the_config_is_checked_without_code_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("SCREENFUSE_UNITS", str(units_with(tmp_path, ("MS001", "mass_screening", "中南路采样点", "中南路街道"),
                                                          ("MS002", "mass_screening", "南湖采样点", "南湖街道"))))
    policy = load_policy(policy_with_mass_screening(tmp_path), FEEDS)
    units = reporting.expected_units(policy.zero_report.deadline_hour)
    assert set(units.loc[units["unit_type"] == "mass_screening", "unit_id"]) == {"MS001", "MS002"}
    files = pd.DataFrame({"file_name": ["中南路采样点_20200210.csv"], "status": ["zero_report"]})
    delivered = reporting.deliveries("mass_screening", files, pd.DataFrame(columns=["file_name", "unit"]), units,
                                     "2020-02-10").assign(arrived_at=None)
    silent, late, checks = reporting.check_days(units, delivered, "mass_screening", [date(2020, 2, 10)],
                                                policy.zero_report.deadline_hour["mass_screening"], policy.timezone)
    assert silent["unit_id"].tolist() == ["MS002"] and late.empty
    assert checks[["feed", "expected", "reported", "silent"]].values.tolist() == [["mass_screening", 2, 1, 1]]


@pytest.mark.parametrize("row, fix", [
    (("PS099", "polce", "某派出所", "南湖街道"), "unit_type 'polce' is not a feed"),
    (("PS001", "police", "又一个派出所", "南湖街道"), "unit_id 'PS001' is listed twice"),
    (("", "police", "某派出所", "南湖街道"), "unit_id and unit_name are required"),
])
def test_a_bad_units_list_names_the_line_and_the_fix(tmp_path, monkeypatch, row, fix):
    path = units_with(tmp_path, row)
    monkeypatch.setenv("SCREENFUSE_UNITS", str(path))
    with pytest.raises(ConfigError) as caught:
        reporting.expected_units()
    line = len(pd.read_csv(path, dtype=str)) + 1  # the added row is the last line
    assert f"units.csv, line {line}: {fix}" in str(caught.value)
    assert "SCREENFUSE_UNITS" in str(caught.value)
