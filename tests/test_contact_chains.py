"""Contact chains (issue 9): one edge per record naming an index case, resolved by ID number, kept
up by the hourly run by index look-ups; the chain view gives each index case's generations; edges
whose index is not resolved are listed. Synthetic names and IDs only."""
from datetime import datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import contact_edges, schema
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from screenfuse.warehouse import bulk_insert, engine_for
from conftest import hand_made_home, make_id, write_csv as write
from warehouse_content import checksums

H1, H2 = (datetime(2020, 2, 10, h, tzinfo=timezone.utc) for h in (13, 14))
POLICE = ["派出所", "登记时间", "姓名", "公民身份号码", "手机号码", "现住址", "密接对象姓名", "密接对象身份证",
          "末次接触日期", "流调编号"]
HOSPITAL = ["医疗机构", "就诊时间", "患者姓名", "身份证号码", "联系方式", "住址", "人员类别", "核酸结果"]
ADDRESS = "首义路街道首义路社区{}栋"
IDS = {"A": make_id("42010619800101011"), "B": make_id("42010619810202012"), "C": make_id("42010619820303013"),
       "D": make_id("42010619830404014")}
NAMES = {"A": "甲一", "B": "乙二", "C": "丙三", "D": "丁四", "X": "戊五"}



def police(who, n, index, index_id, day, case):
    return ["首义路派出所", f"2020-02-10 10:0{n}", NAMES[who], IDS[who], f"1390013901{n}", ADDRESS.format(n),
            NAMES[index], index_id, day, case]


@pytest.fixture(scope="module")
def chains(tmp_path_factory, warehouse_url):
    """Hour 1: B named as contact of A (by ID; A has no record yet), C as contact of B, D as contact
    of a person given by name only. Hour 2: A's own record, confirmed, arrives; then hour 2 again."""
    mp, home, engine = hand_made_home(tmp_path_factory, warehouse_url, "chains")
    landing = home / "landing"
    write(landing / "police" / "首义路派出所_h1.csv", POLICE, [
        police("B", 1, "A", IDS["A"], "2020-02-08", "LD202002080001"),
        police("C", 2, "B", IDS["B"], "2020-02-09", "LD202002090002"),
        police("D", 3, "X", "", "2020-02-07", "LD202002070003")])
    seen = {}
    run_batch(load_settings(), H1)
    seen["h1"] = frames(engine)
    write(landing / "hospital" / "武昌医院发热门诊_h2.csv", HOSPITAL, [
        ["武昌医院发热门诊", "2020-02-10 21:00", NAMES["A"], IDS["A"], "13900139019", ADDRESS.format(9), "确诊", "阳性"]])
    run_batch(load_settings(), H2)
    seen["h2"] = frames(engine)
    seen["sums"] = checksums(engine)
    run_batch(load_settings(), H2)  # the latest batch again: taken back, published again
    seen["again"] = checksums(engine)
    yield seen
    mp.undo()


def frames(engine) -> dict:
    with engine.connect() as conn:
        person = pd.read_sql(sa.text("SELECT person_id, id_number, status, measure FROM person"), conn)
        out = {"person": person.set_index("id_number")}
        for name in ("contact_edge", "v_contact_chain", "v_contact_edges_unresolved"):
            out[name] = pd.read_sql(sa.text(f"SELECT * FROM {name}"), conn)
    return out


def pid(seen, who):
    return seen["person"].loc[IDS[who], "person_id"]


def edge(seen, contact):
    edges = seen["contact_edge"]
    row = edges[edges["contact_person_id"] == pid(seen, contact)].iloc[0]
    return row.astype(object).where(row.notna(), None)  # NULL: None on both databases


def test_the_first_hour_resolves_what_it_can(chains):
    h1 = chains["h1"]
    assert len(h1["contact_edge"]) == 3
    b, c, d = (edge(h1, who) for who in "BCD")
    assert (b["index_person_id"], b["resolution"]) == (None, "id_not_found")  # A has no record yet
    assert (c["index_person_id"], c["resolution"]) == (pid(h1, "B"), "id_number")
    assert (d["index_person_id"], d["resolution"]) == (None, "name_only")
    assert (c["contact_date"], c["investigation_id"]) == ("2020-02-09", "LD202002090002")
    assert h1["v_contact_chain"].empty is False  # B → C already a chain, rooted at B
    assert set(h1["v_contact_edges_unresolved"]["contact_person_id"]) == {pid(h1, "B"), pid(h1, "D")}


def test_the_index_case_arriving_later_resolves_the_edge_in_that_hour(chains):
    h1, h2 = chains["h1"], chains["h2"]
    b, c = edge(h2, "B"), edge(h2, "C")
    assert (b["index_person_id"], b["resolution"], b["batch_id"]) == (pid(h2, "A"), "id_number", "20200210T1400Z")
    assert c["batch_id"] == "20200210T1300Z"  # an edge nothing changed for is not rewritten
    assert h2["person"].loc[IDS["A"], "status"] == "confirmed"
    assert h2["person"].loc[IDS["B"], "measure"] == "centralized_isolation"  # the index's status drives it
    assert list(h2["v_contact_edges_unresolved"]["resolution"]) == ["name_only"]
    unresolved = h2["v_contact_edges_unresolved"].iloc[0]
    assert (unresolved["index_name"], unresolved["contact_person_id"]) == (NAMES["X"], pid(h2, "D"))


def test_the_chain_view_gives_generations_per_index_case(chains):
    h2 = chains["h2"]
    chain = h2["v_contact_chain"]
    assert set(chain["root_person_id"]) == {pid(h2, "A")}  # B is a contact now: no longer a root
    got = chain.set_index("person_id")
    assert {who: int(got.loc[pid(h2, who), "generation"]) for who in "ABC"} == {"A": 0, "B": 1, "C": 2}
    assert got.loc[pid(h2, "C"), "index_person_id"] == pid(h2, "B")
    assert got.loc[pid(h2, "B"), ["status", "measure"]].tolist() == ["close_contact", "centralized_isolation"]
    assert (chain["root_status"] == "confirmed").all() and len(chain) == 3


def test_rerunning_the_latest_batch_gives_the_same_edges(chains):
    assert chains["sums"]["contact_edge"] == chains["again"]["contact_edge"]
    assert [t for t in chains["sums"] if chains["sums"][t] != chains["again"].get(t)] == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_chain_view_ends_cycles_and_stops_at_ten_generations(warehouses, kind):
    engine = engine_for(warehouses.new(kind))
    schema.upgrade(engine)
    line = [f"L{i:02d}" for i in range(13)]  # L00 → L01 → ... → L12, cycles L03 → L01 and L12 → L11
    pairs = list(zip(line, line[1:])) + [("L03", "L01"), ("L12", "L11"), ("L05", "L05b"), (None, "L05b")]
    edges = pd.DataFrame({"source_record_id": [f"r{i:02d}" for i in range(len(pairs))],
                          "index_person_id": [a for a, _ in pairs], "contact_person_id": [b for _, b in pairs],
                          "resolution": ["id_number" if a else "name_only" for a, _ in pairs],
                          "contact_date": "2020-02-01", "investigation_id": "", "batch_id": "b"})
    with engine.begin() as conn:
        bulk_insert(conn, "contact_edge", edges)
    with engine.connect() as conn:
        chain = pd.read_sql(sa.text("SELECT root_person_id, person_id, generation FROM v_contact_chain"), conn)
    got = dict(zip(chain["person_id"], chain["generation"].astype(int)))
    assert got == {**{p: i for i, p in enumerate(line[:11])}, "L05b": 6}  # L11, L12 lie beyond ten generations
    assert len(chain) == len(got) and set(chain["root_person_id"]) == {"L00"}


def test_resolution_is_by_id_only_and_never_the_contact_themselves():
    edges = pd.DataFrame({"source_record_id": ["e1", "e2", "e3", "e4"], "contact_of_id": ["I1", "I2", "", "I3"],
                          "contact_date": "", "investigation_id": ""})
    person_of = pd.Series({"e1": "P1", "e2": "P2", "e3": "P3", "e4": "P4"})
    holders = pd.DataFrame({"id_number": ["I1", "I1", "I2", "I9"], "person_id": ["P9", "P8", "P2", "P7"]})
    got = contact_edges.resolve_edges(edges, person_of, holders).set_index("source_record_id")
    assert got["index_person_id"].tolist() == ["P8", None, None, None]  # a shared ID: the smallest person id
    assert got["resolution"].tolist() == ["id_number", "names_self", "name_only", "id_not_found"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_revision_0010_fills_the_edges_of_the_records_already_stored(warehouses, kind):
    engine = engine_for(warehouses.new(kind))
    schema.upgrade(engine, "0009")
    base = {"feed": "police", "file_name": "f.csv", "file_sha256": "0" * 64, "contact_of_name": "", "contact_of_id": "",
            "details_json": "{}"}
    records = pd.DataFrame([  # r1 names the person of r3 by ID, r2 someone by name only; r3 is the index case
        {**base, "source_record_id": "r1", "batch_id": "b1", "row_number": 1, "id_number": "ID-B",
         "contact_of_name": "甲一", "contact_of_id": "ID-A",
         "details_json": '{"last_contact_date": "2020-02-08", "investigation_id": "LD1"}'},
        {**base, "source_record_id": "r2", "batch_id": "b1", "row_number": 2, "id_number": "ID-C",
         "contact_of_name": "戊五"},
        {**base, "source_record_id": "r3", "batch_id": "b2", "row_number": 3, "id_number": "ID-A"}])
    links = pd.DataFrame({"source_record_id": ["r1", "r2", "r3"], "person_id": ["PB", "PC", "PA"],
                          "match_rule": "alone", "changed_batch_id": "b1"})
    with engine.begin() as conn:
        bulk_insert(conn, "source_record", records)
        bulk_insert(conn, "person_link", links)
    schema.upgrade(engine)
    with engine.connect() as conn:
        edges = pd.read_sql(sa.text("SELECT * FROM contact_edge ORDER BY source_record_id"), conn)
    edges = edges.astype(object).where(edges.notna(), None)
    assert edges.to_dict("records") == [
        {"source_record_id": "r1", "contact_person_id": "PB", "index_person_id": "PA", "resolution": "id_number",
         "contact_date": "2020-02-08", "investigation_id": "LD1", "batch_id": "b1"},
        {"source_record_id": "r2", "contact_person_id": "PC", "index_person_id": None, "resolution": "name_only",
         "contact_date": "", "investigation_id": "", "batch_id": "b1"}]


def test_a_cluster_whose_members_name_each_other_stays_cheap(tmp_path):
    """A household or congregation where every member names every other: the view's work grows with
    persons x edges, not with the paths through the cluster (12 members: 11! paths). SQLite's
    progress handler stops the query after a fixed amount of work, so a view that walks every path
    fails here instead of hanging (work counted in VM steps, not time)."""
    engine = engine_for(f"sqlite:///{tmp_path / 'w.db'}")
    schema.upgrade(engine)
    members = [f"K{i:02d}" for i in range(12)]
    pairs = [("K_ROOT", "K00")] + [(a, b) for a in members for b in members if a != b]
    edges = pd.DataFrame({"source_record_id": [f"r{i:04d}" for i in range(len(pairs))],
                          "index_person_id": [a for a, _ in pairs], "contact_person_id": [b for _, b in pairs],
                          "resolution": "id_number", "contact_date": "2020-02-01", "investigation_id": "",
                          "batch_id": "b"})
    with engine.begin() as conn:
        bulk_insert(conn, "contact_edge", edges)
    steps = {"n": 0}

    def budget() -> int:
        steps["n"] += 1
        return 1 if steps["n"] > 20_000 else 0  # 20,000 x 1,000 VM steps

    with engine.connect() as conn:
        conn.connection.driver_connection.set_progress_handler(budget, 1000)
        chain = pd.read_sql(sa.text("SELECT person_id, generation FROM v_contact_chain"), conn)
    got = dict(zip(chain["person_id"], chain["generation"].astype(int)))
    assert got == {"K_ROOT": 0, "K00": 1, **{m: 2 for m in members[1:]}}
