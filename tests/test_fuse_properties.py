"""Properties of fuse_persons on random persons (1..6 records each, empty fields, ties in time,
statuses that expire, that a later record ends or that negative results release, contacts of each other): what a faster but wrong per-person
reduction would break. Synthetic values only."""
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from screenfuse.fuse import fuse_persons
from screenfuse.policy import default_policy

POLICY = default_policy(["checkpoint", "community", "hospital", "police", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring"])
STREETS = ["积玉桥街道", "粮道街道"]
TIMES = ["", "2020-01-20 08:00:00", "2020-02-01 09:30:00", "2020-02-01 09:30:00", "2020-02-10 07:00:00", "2020-02-10"]

record = st.fixed_dictionaries({
    "feed": st.sampled_from(["checkpoint", "community", "hospital", "police", "other", ""]),
    "event_time": st.sampled_from(TIMES),
    "name": st.sampled_from(["", "张伟", "張偉", "李娜"]),
    "id_number": st.sampled_from(["", "X1", "X2"]),
    "id_status": st.sampled_from(["", "valid", "failed_check", "missing"]),
    "birth_date": st.sampled_from(["", "1980-01-01"]),
    "sex": st.sampled_from(["", "女"]),
    "phone": st.sampled_from(["", "13800000001", "13800000002"]),
    "address": st.sampled_from(["", "积玉桥一路1号", "某路"]),
    "street": st.sampled_from(["", "积玉桥街道", "别的街道"]),
    "community": st.sampled_from(["", "某社区"]),
    "temperature": st.sampled_from([float("nan"), 36.5, 38.2]),
    "category": st.sampled_from(["", "", "确诊", "疑似", "排除", "出院", "死亡", "无症状", "解除医学观察"]),
    "nucleic_acid": st.sampled_from(["", "", "阴性", "阳性"]),
    "severity": st.sampled_from(["", "轻型", "重型"]),
    "action": st.sampled_from(["", "发热门诊"]),
    "came_from": st.sampled_from(["", "湖北孝感"]),
    "arrival_date": st.sampled_from(["", "2020-02-01"]),
    "contact_of_name": st.sampled_from(["", "", "某某"]),
    "contact_of_id": st.sampled_from(["", "X1"]),  # X1: the ID of some other person, or of nobody
})
person = st.lists(record, min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(person, min_size=1, max_size=8), st.sampled_from(["2020-02-10T10:00:00Z", "2020-03-15T00:00:00Z"]),
       st.randoms(use_true_random=False))
def test_every_person_is_fused_from_their_own_records(people, as_of, random):
    rows, links = [], []
    for p, records in enumerate(people):
        pid = f"P{random.randrange(100)}-{p}"  # persons and records in no particular order
        for r, fields in enumerate(records):
            rid = f"r{random.randrange(10**6):06d}-{p}-{r}"
            rows.append({"source_record_id": rid, **fields})
            links.append({"source_record_id": rid, "person_id": pid})
    order = list(range(len(rows)))
    random.shuffle(order)
    records = pd.DataFrame([rows[i] for i in order])
    persons = fuse_persons(records, pd.DataFrame(links), STREETS, as_of, POLICY).set_index("person_id")

    mine = pd.DataFrame(links).merge(records, on="source_record_id").groupby("person_id")
    assert len(persons) == len(people) and persons["n_records"].sum() == len(records)
    for pid, own in mine:
        p = persons.loc[pid]
        ids = set(own["source_record_id"])
        assert p.n_records == len(own)
        assert p.feeds == ",".join(sorted(set(own["feed"])))
        assert (p.first_seen, p.last_seen) == (min(own["event_time"]), max(own["event_time"]))
        assert p.status_source in ids and p.status != ""
        reason = p.status_reason.split(";") if p.status_reason else []
        assert reason == sorted(reason) and set(reason) <= ids
        assert p.status_source in reason or p.status == "none"  # "none": its records may all have expired
        assert p.status_expires_at == "" or p.status_expires_at > as_of
        assert p.measure == "" or p.measure in POLICY.measure_specs
        if p.status == "close_contact":  # a contact's measure by their index case: of a suspected one, at home
            assert (p.index_status == "suspected") == (p.measure == "home_isolation") or p.measure == "release_test"
        if p.expired_status:
            gone = p.expired_reason.split(";")
            assert gone == sorted(gone) and set(gone) <= ids and "" < p.expired_at <= as_of
            assert POLICY.status_rank[p.expired_status] < POLICY.status_rank[p.status]
        else:
            assert (p.expired_reason, p.expired_at) == ("", "")
        for column, extra in [("id_number", []), ("name", []), ("phone", []), ("address", ["street", "community"]),
                              ("birth_date", ["sex"])]:
            source = p[f"{column}_source"]
            if pd.isna(source):  # no record of this person has the value
                assert (own[[column, *extra]] == "").all().all() and pd.isna(p[column])
            else:
                assert source in ids and own.set_index("source_record_id").loc[source, column] == p[column]
        if p["name"] == p["name"]:
            counts = own.loc[own["name"] != "", "name"].value_counts()
            assert counts[p["name"]] == counts.max()
