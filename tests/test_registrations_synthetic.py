"""`screenfuse generate --pharmacies N --self-report N`: seeded, noisy, with a few bad rows the ingest
must quarantine, every row traced to a person of the day's population (truth), and the silent
pharmacies of --zero-reports sending nothing."""
from datetime import date

import pandas as pd

from screenfuse.contracts import load_contract
from screenfuse.gazetteer import load_gazetteer
from screenfuse.ingest import stage_file
from screenfuse.readers import read_table
from screenfuse.synthetic import generate
from screenfuse.synthetic_pharmacy import generate_pharmacy
from screenfuse.synthetic_reports import quiet_and_late
from screenfuse.synthetic_self_report import generate_self_report
from screenfuse.validation import validate_rows

DAY = date(2020, 2, 10)


def day_of(folder, seed=3):
    generate(400, seed, DAY, folder / "landing", folder / "truth", zero_reports=True)
    people = pd.read_csv(folder / "truth" / "people.csv", dtype=str, keep_default_na=False)
    pharmacy = generate_pharmacy(80, seed, DAY, folder / "landing", folder / "truth", people, zero_reports=True)
    reports = generate_self_report(60, seed, DAY, folder / "landing", folder / "truth", people)
    return people, pharmacy, reports


def read_feed(landing, feed):
    contract, gazetteer = load_contract(feed), load_gazetteer()
    out = []
    for path in sorted((landing / feed).iterdir()):
        staged = stage_file(path, contract, gazetteer)
        if staged.status == "staged":
            out.append(staged.records.assign(reason=validate_rows(staged.records, contract).to_numpy()))
    return pd.concat(out, ignore_index=True)


def test_the_same_seed_writes_the_same_files(tmp_path):
    day_of(tmp_path / "a")
    day_of(tmp_path / "b")
    for feed in ("pharmacy", "self_report"):
        a = {p.name: p.read_bytes() for p in (tmp_path / "a" / "landing" / feed).iterdir()}
        b = {p.name: p.read_bytes() for p in (tmp_path / "b" / "landing" / feed).iterdir()}
        assert a == b and a, feed


def test_rows_are_noisy_bad_ones_quarantined_and_each_traced_to_a_person(tmp_path):
    people, pharmacy, reports = day_of(tmp_path, seed=5)
    landing, truth = tmp_path / "landing", tmp_path / "truth"
    for feed, done in (("pharmacy", pharmacy), ("self_report", reports)):
        rows = read_feed(landing, feed)
        traced = pd.read_csv(truth / f"truth_{feed}.csv", dtype=str, keep_default_na=False)
        assert set(traced["person_key"]) <= set(people["person_key"])
        assert len(rows) == len(traced) == done["rows"] > 0
        key = ["file_name", "row_number"]
        joined = rows.assign(row_number=rows["row_number"].astype(str)).merge(traced, on=key, validate="1:1")
        # the rows the generator spoiled, and only those, are quarantined
        assert (joined["reason"] != "").tolist() == (joined["bad"] == "True").tolist(), feed
        assert done["bad"] == int((joined["bad"] == "True").sum())
    rows = read_feed(landing, "pharmacy")
    good = rows[rows["reason"] == ""]
    assert set(good["medicine_category"]) <= {"退烧", "止咳", "感冒", "抗病毒", "抗生素"}
    raw = pd.concat([read_table(p).frame for p in sorted((landing / "pharmacy").iterdir())])
    written = raw["药品类别"].fillna(raw["药品分类"]) if "药品分类" in raw else raw["药品类别"]
    assert written.isin(["退烧药", "退热", "解热镇痛类", "镇咳", "感冒药", "抗菌素", "感冒类"]).any()  # as tills write them
    assert (written == "").any()  # left empty beside a known medicine, read from its name


def test_silent_pharmacies_send_nothing_and_the_others_replace_their_zero_report(tmp_path):
    day_of(tmp_path, seed=9)
    silent, _ = quiet_and_late(9, 0)
    files = {p.name.split("_")[0]: p for p in (tmp_path / "landing" / "pharmacy").iterdir()}
    assert not {name for feed, name in silent if feed == "pharmacy"} & set(files)
    assert len(files) == 6 - len({name for feed, name in silent if feed == "pharmacy"})
    assert all(p.suffix == ".csv" for p in files.values())  # one file a pharmacy a day: its rows, or its header
