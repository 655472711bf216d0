"""Mass screening files: contracts on real-looking headers, generated files through stage_file and
the row suite (every row accepted or quarantined with a reason), and the generator itself."""
import hashlib
from datetime import date

import pandas as pd
import pytest

from screenfuse import mass_screening as ms
from screenfuse.cli import main
from screenfuse.contracts import load_contract
from screenfuse.gazetteer import load_gazetteer
from screenfuse.ingest import discover_files, stage_file
from screenfuse.synthetic_mass import generate_mass_screening
from screenfuse.validation import validate_rows

DAY = date(2020, 5, 15)


@pytest.mark.parametrize("feed, headers, expected", [
    ("mass_screening", ["采样点名称", "采样时间", "受检者姓名", "证件类型", "证件号码", "联系电话", "现住址", "采样管号", "混采管号"],
     ["unit", "event_time", "name", "id_type", "id_number", "phone", "address", "sample_id", "pool_id"]),
    ("mass_screening", ["采样地点", "采集时间", "姓名*", "身份证号", "手机号码", "居住地址", "样本编号", "十混一管号",
                        "检测结果", "报告时间"],
     ["unit", "event_time", "name", "id_number", "phone", "address", "sample_id", "pool_id", "result", "result_time"]),
    ("mass_screening", ["采样点", "采样时间", "被采样人姓名", "证件号码", "联系方式", "家庭住址", "试管编号", "混检管号(必填)"],
     ["unit", "event_time", "name", "id_number", "phone", "address", "sample_id", "pool_id"]),
    ("mass_screening_result", ["检测机构", "样本编号", "混检管号", "检测结果", "报告时间"],
     ["unit", "sample_id", "pool_id", "result", "event_time"]),
    ("mass_screening_result", ["检测单位", "采样管号", "混采管号", "核酸检测结果", "结果时间", "采样时间"],
     ["unit", "sample_id", "pool_id", "result", "event_time", "sampled_at"]),
    ("mass_screening_result", ["实验室", "条码号", "混管编号", "结果", "出结果时间"],
     ["unit", "sample_id", "pool_id", "result", "event_time"]),
])
def test_real_looking_headers_map_to_the_contract(feed, headers, expected):
    assert list(load_contract(feed).header_map(headers).values()) == expected


def test_the_contracts_allow_the_results_the_policy_reads():
    from screenfuse.policy import SCREENING_RESULTS

    assert set(load_contract("mass_screening_result").fields["result"].allowed) == set(SCREENING_RESULTS) == set(
        ms.RESULT_VALUES)
    assert set(load_contract("mass_screening").fields["result"].allowed) - {""} == set(SCREENING_RESULTS)


def stage_all(landing, feed):
    contract = load_contract(feed)
    staged = [stage_file(path, contract, load_gazetteer()) for path in discover_files(landing, contract)]
    rows = pd.concat([s.records for s in staged if not s.records.empty], ignore_index=True)
    rows["reason"] = validate_rows(rows, contract)
    return staged, rows


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A small district day: about 3,000 sampling rows (some XLSX, GBK and BOM files), staged."""
    root = tmp_path_factory.mktemp("mass")
    done = generate_mass_screening(3000, 11, DAY, root / "landing", root / "truth")
    samples_staged, samples = stage_all(root / "landing", "mass_screening")
    results_staged, results = stage_all(root / "landing", "mass_screening_result")
    return {"root": root, "done": done, "samples": samples, "results": results,
            "staged": samples_staged + results_staged}


def test_generated_files_are_staged_every_row_accepted_or_quarantined_with_a_reason(generated):
    staged = generated["staged"]
    assert all(s.status == "staged" for s in staged), [(s.file_name, s.reason) for s in staged if s.status != "staged"]
    assert {s.file_format for s in staged} == {"csv", "xlsx"}
    assert {s.encoding for s in staged} >= {"utf-8", "utf-8-sig", "gb18030", "xlsx"}
    for feed in ("samples", "results"):
        rows = generated[feed]
        assert len(rows) == sum(s.rows_read for s in staged if s.feed == rows["feed"].iat[0])
        assert rows["source_record_id"].is_unique
    samples = generated["samples"]
    reasons = set("; ".join(samples.loc[samples["reason"] != "", "reason"]).split("; "))
    assert reasons <= {"id_number unusable (Excel scientific notation or not an ID number)",
                       "sample_id unusable (Excel scientific notation)", "sample_id missing"}
    assert 0 < (samples["reason"] != "").sum() < 0.02 * len(samples)
    assert (generated["results"]["reason"] == "").all()
    passports = samples[samples["id_type"] == "passport"]
    assert len(passports) and (passports["id_status"] == "document").all() and (passports["reason"] == "").all()
    assert passports["id_number"].str.fullmatch(r"E[0-9]{8}").all()


def test_the_join_on_the_generated_files_finds_what_the_generator_meant(generated):
    samples, results = generated["samples"], generated["results"]
    accepted = samples[samples["reason"] == ""]
    join = ms.join_results(ms.sample_rows(accepted), ms.result_rows(results[results["reason"] == ""], "b"),
                           pd.Timestamp("2020-05-18 00:00", tz="UTC"), due_hours=24)
    truth = pd.read_csv(generated["root"] / "truth" / "truth_mass_screening.csv", dtype=str, keep_default_na=False)
    found = join.outcomes.assign(file_name=accepted["file_name"].to_numpy(),
                                 row_number=accepted["row_number"].astype(str).to_numpy())
    both = found.merge(truth, on=["file_name", "row_number"], validate="one_to_one")
    assert len(both) == len(accepted)
    assert (both["screening_scope"] == both["expected_scope"]).all()
    assert (both["screening_result"] == both["expected_result"]).all()
    counts = join.counts
    assert counts["pool"] > counts["individual"] > 0 and counts["pools_positive"] >= 1
    assert counts["individual_positive"] >= 1 and counts["awaiting"] >= 1 and counts["overdue"] == counts["awaiting"]
    # a result whose sample row was quarantined (or whose tube was mistyped) is kept, not lost
    ok_results = ms.result_rows(results[results["reason"] == ""], "b")
    single = accepted[(accepted["pool_id"] == "") & accepted["sample_id"].isin(ok_results["sample_id"])].index[:1]
    assert len(single)
    without = ms.join_results(ms.sample_rows(accepted.drop(single)), ok_results,
                              pd.Timestamp("2020-05-18 00:00", tz="UTC"), due_hours=24)
    assert without.counts["orphan_results"] >= max(counts["orphan_results"], 1)
    assert set(join.orphans["reason"]) <= {ms.NO_SAMPLE, ms.NO_POOL}
    # every member of a positive pool was re-tested alone: none is left on the pool's word
    assert not (join.outcomes["pool_positive"] & (join.outcomes["screening_scope"] == "pool")).any()


def test_a_bad_row_is_quarantined_with_its_reason(tmp_path):
    folder = tmp_path / "mass_screening_result"
    folder.mkdir()
    pd.DataFrame({"检测机构": ["实验室甲"] * 5, "样本编号": ["S1", "", "2.00515E+13", "S4", "S5"],
                  "混检管号": ["", "", "", "", ""], "检测结果": ["阴性", "阳性", "阴性", "弱阳", "阴性"],
                  "报告时间": ["2020-05-15 20:00", "2020/5/15 21:00", "2020-05-15 20:00", "2020-05-15 20:00", "昨天"]}
                 ).to_csv(folder / "实验室甲_20200515.csv", index=False)
    _, rows = stage_all(tmp_path, "mass_screening_result")
    assert rows["reason"].tolist() == [
        "", "sample_id and pool_id both missing", "sample_id unusable (Excel scientific notation)",
        "result not one of 阴性/阳性/待复核/无效", "event_time missing or not a date/time"]
    assert ms.result_rows(rows, "b").columns.tolist() == ms.RESULT_COLUMNS


def test_a_results_file_without_the_result_column_is_held_for_schema_drift(tmp_path):
    path = tmp_path / "实验室甲_20200515.csv"
    pd.DataFrame({"样本编号": ["S1"], "报告时间": ["2020-05-15 20:00"]}).to_csv(path, index=False)
    staged = stage_file(path, load_contract("mass_screening_result"), load_gazetteer())
    assert staged.status == "held" and "schema drift: required column 'result'" in staged.reason


def test_sampling_rows_keep_the_tube_in_details_and_as_columns(tmp_path):
    path = tmp_path / "某社区核酸采样点1_20200515.csv"
    pd.DataFrame({"采样点": ["某社区核酸采样点1"] * 2, "采样时间": ["2020-05-15 08:00", "2020-05-15 08:01"],
                  "姓名": ["张伟", "李娜"], "证件类型": ["居民身份证", "港澳居民来往内地通行证"],
                  "证件号码": ["", "H12345678"], "样本编号": [" 2005150010001", "2005150010002"],
                  "混检管号": ["hj1", "hj1"], "检测结果": ["阴性", "待检"]}).to_csv(path, index=False)
    staged = stage_file(path, load_contract("mass_screening"), load_gazetteer())
    rows = staged.records
    assert rows["sample_id"].tolist() == ["2005150010001", "2005150010002"] and rows["pool_id"].tolist() == ["HJ1"] * 2
    assert rows["id_status"].tolist() == ["missing", "document"]
    assert rows["id_type"].tolist() == ["", "hk_macau_permit"] and rows.loc[1, "id_number"] == "H12345678"
    assert '"sample_id": "2005150010001"' in rows.loc[0, "details_json"]
    assert validate_rows(rows, load_contract("mass_screening")).tolist() == ["", "result not one of 阴性/阳性/待复核/无效"]


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_generator_is_deterministic_by_seed_and_writes_the_volume_asked(tmp_path):
    people = pd.DataFrame({"person_key": ["T000000", "T000001"], "name": ["王芳", "张伟"],
                           "id_number": ["420106199001011234", "42010619850202223X"], "birth_date": ["1990-01-01", "1985-02-02"],
                           "phone": ["13800000001", "13800000002"], "street": ["积玉桥街道"] * 2,
                           "community": ["振广港社区"] * 2, "road": ["积玉桥一路"] * 2, "number": [1, 1],
                           "building": [1, 1], "unit_no": [1, 1], "room": [101, 102], "true_status": ["none", "asymptomatic"]})
    first = generate_mass_screening(1500, 5, DAY, tmp_path / "a", tmp_path / "ta", people=people)
    generate_mass_screening(1500, 5, DAY, tmp_path / "b", tmp_path / "tb", people=people)
    generate_mass_screening(1500, 6, DAY, tmp_path / "c", tmp_path / "tc", people=people)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") and _digest(tmp_path / "ta") == _digest(tmp_path / "tb")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    truth = pd.read_csv(tmp_path / "ta" / "truth_mass_screening.csv", dtype=str, keep_default_na=False)
    assert len(truth) == first["rows"] == 1500
    assert 30 <= first["points"] <= 200 + 14  # sampling points and a door-to-door team per street
    assert truth["file_name"].nunique() == first["points"]
    assert truth["person_key"].str.startswith("M").mean() > 0.99
    assert set(people["person_key"]) & set(truth["person_key"])  # the other feeds' people are screened too
    assert truth.loc[truth["person_key"] == "T000001", "true_result"].eq("阳性").all()  # asymptomatic: positive
    pools = truth.loc[truth["pool_id"] != "", "pool_id"].value_counts()
    assert pools.max() == 10 and 0.8 < (truth["pool_id"] != "").mean() < 0.95  # 十混一 for most, single tubes for some


def test_generate_command_writes_both_feeds(tmp_path, capsys):
    assert main(["generate", "--people", "200", "--seed", "3", "--day", "2020-05-15", "--out", str(tmp_path / "landing"),
                 "--truth", str(tmp_path / "truth"), "--mass-screening", "800"]) == 0
    said = capsys.readouterr().out
    assert "mass screening: 800 sampling rows" in said
    assert any((tmp_path / "landing" / "mass_screening").glob("*_20200515.*"))
    assert any((tmp_path / "landing" / "mass_screening_result").glob("*"))
    people = pd.read_csv(tmp_path / "truth" / "people.csv", dtype=str)
    truth = pd.read_csv(tmp_path / "truth" / "truth_mass_screening.csv", dtype=str)
    assert truth["person_key"].isin(people["person_key"]).sum() > 100
