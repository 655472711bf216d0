"""Close contacts through the hourly pipeline (issue 9, case 6): a contact's measure follows the
status of the index case even when only one of them comes in an hour. Only the persons an hour
touches are fused again, so the index case's contacts (found by contact_of_id) and the index
cases of new contacts (found by id_number) must be fused with them. Synthetic names and IDs."""
from datetime import datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from conftest import hand_made_home, make_id, write_csv as write

HOURS = [datetime(2020, 2, 10, h, tzinfo=timezone.utc) for h in (13, 14, 15)]
POLICE = ["派出所", "登记时间", "姓名", "公民身份号码", "手机号码", "现住址", "密接对象姓名", "密接对象身份证", "末次接触日期"]
HOSPITAL = ["医疗机构", "就诊时间", "患者姓名", "身份证号码", "联系方式", "住址", "人员类别", "核酸结果"]
ADDRESS = "首义路街道首义路社区{}栋"



@pytest.fixture(scope="module")
def contacts(tmp_path_factory, warehouse_url):
    mp, home, engine = hand_made_home(tmp_path_factory, warehouse_url, "contacts")
    landing = home / "landing"
    ids = {"I": make_id("42010619800101001"), "C": make_id("42010619810202002"), "D": make_id("42010619820303003")}
    names = {"I": "吴一", "C": "郑二", "D": "冯三"}

    def police(who, n):
        return ["首义路派出所", "2020-02-10 10:0{}".format(n), names[who], ids[who], f"1390013900{n}",
                ADDRESS.format(n), names["I"], ids["I"], "2020-02-09"]

    def hospital(category, hour):
        return ["武昌医院发热门诊", f"2020-02-10 {hour}:00", names["I"], ids["I"], "13900139009", ADDRESS.format(9),
                category, "待检"]

    seen = []
    # hour 1: the index case is suspected, its contact C is registered: C stays home
    write(landing / "hospital" / "武昌医院发热门诊_h1.csv", HOSPITAL, [hospital("疑似", "09")])
    write(landing / "police" / "首义路派出所_h1.csv", POLICE, [police("C", 1)])
    # hour 2: a new contact D of the stored (suspected) index case: D stays home too
    # hour 3: only the index case's confirmation comes: C and D go to centralized isolation in that run
    later = {1: ("police", "首义路派出所_h2.csv", POLICE, [police("D", 2)]),
             2: ("hospital", "武昌医院发热门诊_h3.csv", HOSPITAL, [hospital("确诊", "21")])}
    for n, hour in enumerate(HOURS):
        if n in later:
            feed, name, header, rows = later[n]
            write(landing / feed / name, header, rows)
        run_batch(load_settings(), hour)
        person = pd.read_sql(sa.text("SELECT person_id, id_number, status, measure, batch_id FROM person"), engine)
        seen.append(person.set_index("id_number"))
    items = pd.read_sql(sa.text("SELECT person_id, measure, state FROM push_item"), engine)
    yield {"seen": seen, "ids": ids, "items": items}
    mp.undo()


def test_contacts_of_a_suspected_case_stay_home_whichever_comes_first(contacts):
    first, second = contacts["seen"][0], contacts["seen"][1]
    ids = contacts["ids"]
    assert first.loc[ids["I"], ["status", "measure"]].tolist() == ["suspected", "isolate_suspected"]
    assert first.loc[ids["C"], ["status", "measure"]].tolist() == ["close_contact", "home_isolation"]
    # hour 2 brought only D: the index case was fused with it (found by its ID number)
    assert second.loc[ids["D"], ["status", "measure"]].tolist() == ["close_contact", "home_isolation"]


def test_the_index_case_confirmed_upgrades_its_contacts_in_the_same_run(contacts):
    third, ids = contacts["seen"][2], contacts["ids"]
    assert third.loc[ids["I"], ["status", "measure"]].tolist() == ["confirmed", "transfer_designated_hospital"]
    for who in ("C", "D"):  # neither had a record in hour 3: found by contact_of_id
        assert third.loc[ids[who], ["status", "measure", "batch_id"]].tolist() == [
            "close_contact", "centralized_isolation", "20200210T1500Z"]
    items = contacts["items"]
    for who in ("C", "D"):
        mine = items[items["person_id"] == third.loc[ids[who], "person_id"]]
        assert sorted(mine["measure"]) == ["centralized_isolation", "home_isolation"]
        assert mine.loc[mine["measure"] == "centralized_isolation", "state"].tolist() != ["closed"]
