import pandas as pd

from screenfuse.gazetteer import load_gazetteer


def test_fourteen_street_offices():
    assert len(load_gazetteer().streets) == 14


def test_routing_by_community_road_and_street_name():
    gaz = load_gazetteer()
    row = gaz.communities.iloc[0]
    road = row["roads"].split("|")[0]
    routed = gaz.route(pd.Series([f"武昌区{row['community']}3栋", f"{road}12号", "粮道街某小区", "汉口江汉路"]))
    assert routed["street"].tolist() == [row["street"], row["street"], "粮道街道", ""]
    assert routed["community"].tolist() == [row["community"], "", "", ""]
