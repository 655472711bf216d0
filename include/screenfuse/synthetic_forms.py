"""The errors real forms carry, for the synthetic feeds (rates and why: docs/synthetic.md): twins,
compound surnames and dotted (Uyghur, Tibetan) names in the population; on the records, characters
handwriting confuses by shape, dialect sound confusions, names written in pinyin at the rail
checkpoint, the middle dot written four ways or dropped, placeholders (同上, 无, all zeros,
13800000000) and household landlines. Draws come from their own random streams, so the rest of a
generated day is what it was before these errors existed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from screenfuse.matching.zh_shapes import SHAPE_GROUPS
from screenfuse.normalize import _char_pinyin
from screenfuse.zh_names import COMPOUND_SURNAMES


@dataclass(frozen=True)
class FormErrors:
    twins: float = 0.01  # of households with two or more members
    compound_surname: float = 0.004  # of people
    dotted_name: float = 0.005  # of people
    shape: float = 0.01  # of handwritten records (community, police) whose name has such a character
    dialect: float = 0.01  # of records taken by ear (community, checkpoint, hospital)
    pinyin_at_rail: float = 0.10  # of the rail checkpoint's records
    dot_variant: float = 0.40  # of dotted names' records
    name_placeholder: float = 0.003  # of community records (同上 under the household's first member)
    id_placeholder: float = 0.004  # of records with an ID
    phone_placeholder: float = 0.004  # of records with a phone
    landline: float = 0.02  # of community records: the household's fixed line instead of a mobile


FORM_ERRORS = FormErrors()
RAIL_CHECKPOINT = "武昌火车站卡点"
# characters a dialect speaker's sound is written as (Wuhan n/l, f/h, z/zh, c/ch, s/sh, en/eng, in/ing)
DIALECT = {"刘": "牛", "兰": "南", "南": "兰", "宁": "玲", "娜": "拉", "芳": "杭", "峰": "恒", "华": "发", "张": "臧",
           "志": "子", "陈": "程", "思": "诗", "林": "玲", "玲": "林", "敏": "明", "明": "敏", "静": "金", "斌": "兵",
           "黄": "方", "文": "翁", "英": "音", "平": "频", "成": "岑", "生": "森"}
_SHAPE_OTHER = {ch: [c for c in group if c != ch] for group in SHAPE_GROUPS for ch in group}
DOTTED_FIRST = ["买买提", "艾力", "阿不都", "吐尔逊", "阿依古丽", "古丽娜尔", "扎西", "次仁", "格桑", "卓玛", "努尔"]
DOTTED_LAST = ["艾力", "吐尔逊", "热合曼", "阿布拉", "玉素甫", "多吉", "平措", "央金", "尼玛", "巴特尔"]
NAME_KEYS, ID_KEYS = ("姓名", "患者姓名"), ("身份证号", "公民身份号码", "身份证号码")
PHONE_KEYS = ("手机号", "联系电话", "手机号码", "联系方式")


def _check_char(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


def reshape_population(pop: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Twins (same birth date, address and phone; IDs valid, different only in the sequence
    digits), compound surnames, dotted names."""
    rng, rates = np.random.default_rng([seed, 10]), FORM_ERRORS
    pop = pop.copy()
    used = set(pop["id_number"])
    households = pop.groupby("hh", sort=False).indices
    twins = []
    for members in households.values():
        if len(members) < 2 or rng.random() >= rates.twins:
            continue
        a, b = pop.index[members[0]], pop.index[members[1]]
        if pop.at[a, "id_type"] != "resident_id" or pop.at[b, "id_type"] != "resident_id":
            continue
        birth: date = pop.at[a, "birth_date"]
        head = pop.at[a, "id_number"][:6] + f"{birth:%Y%m%d}"
        while True:
            seq = f"{int(rng.integers(0, 1000)):03d}"
            twin = head + seq + _check_char(head + seq)
            if twin not in used and seq != pop.at[a, "id_number"][14:17]:
                break
        used.add(twin)
        twins.append((pop.at[a, "person_key"], pop.at[b, "person_key"]))
        pop.loc[b, ["birth_date", "id_number", "phone", "sex"]] = [birth, twin, pop.at[a, "phone"],
                                                                    "M" if int(seq[-1]) % 2 else "F"]
        name = pop.at[a, "name"]  # 张子涵 / 张子宇: twins' names differ in one character, not in sound
        pop.at[b, "name"] = name[:-1] + next(c for c in "宇轩博" if _char_pinyin(c) != _char_pinyin(name[-1]))
    compound = np.flatnonzero(rng.random(len(pop)) < rates.compound_surname)
    surnames = list(COMPOUND_SURNAMES)
    for i in compound:
        name = pop.iat[i, pop.columns.get_loc("name")]
        pop.iat[i, pop.columns.get_loc("name")] = surnames[int(rng.integers(len(surnames)))] + name[1:]
    dotted = np.flatnonzero(rng.random(len(pop)) < rates.dotted_name)
    for i in dotted:
        pop.iat[i, pop.columns.get_loc("name")] = (DOTTED_FIRST[int(rng.integers(len(DOTTED_FIRST)))] + "·"
                                                   + DOTTED_LAST[int(rng.integers(len(DOTTED_LAST)))])
    pop.attrs["twins"] = twins  # (person_key, person_key): never one person
    return pop


def _latin(name: str, rng) -> str:
    """The name in pinyin as a rail checkpoint's scanner or clerk writes it: ZHANG WEI, Wei Zhang, zhang-wei."""
    from screenfuse.normalize import name_pinyin
    from screenfuse.zh_names import split_surname

    surname, given = split_surname(name)
    sur, first = name_pinyin(surname), "".join(_char_pinyin(c) for c in given)
    form = int(rng.integers(0, 3))
    return (f"{sur.upper()} {first.upper()}", f"{first.capitalize()} {sur.capitalize()}", f"{sur}-{first}")[form]


def _dot_variant(name: str, rng) -> str:
    return name.replace("·", [".", " ", "．", ""][int(rng.integers(0, 4))])


def add_form_errors(rows: dict, pop: pd.DataFrame, seed: int, day_index: int = 0) -> None:
    """The record-level errors, in place on the feeds' rows ({feed: [(unit, row, person_key)]})."""
    rng, rates = np.random.default_rng([seed, day_index, 11]), FORM_ERRORS
    hh = dict(zip(pop["person_key"], pop["hh"]))
    for feed, entries in rows.items():
        for unit, row, key in entries:
            name_key = next((k for k in NAME_KEYS if k in row), None)
            name = row.get(name_key, "") if name_key else ""
            if name and isinstance(name, str):
                if "·" in name and rng.random() < rates.dot_variant:
                    name = _dot_variant(name, rng)
                elif feed == "checkpoint" and unit == RAIL_CHECKPOINT and rng.random() < rates.pinyin_at_rail:
                    name = _latin(name.strip(), rng)
                elif feed in ("community", "police") and rng.random() < rates.shape:
                    spots = [j for j, ch in enumerate(name) if ch in _SHAPE_OTHER]
                    if spots:
                        j = spots[int(rng.integers(len(spots)))]
                        options = _SHAPE_OTHER[name[j]]
                        name = name[:j] + options[int(rng.integers(len(options)))] + name[j + 1:]
                elif feed != "police" and rng.random() < rates.dialect:
                    spots = [j for j, ch in enumerate(name) if ch in DIALECT]
                    if spots:
                        j = spots[int(rng.integers(len(spots)))]
                        name = name[:j] + DIALECT[name[j]] + name[j + 1:]
                elif feed == "community" and rng.random() < rates.name_placeholder:
                    name = "同上"
                row[name_key] = name
            id_key = next((k for k in ID_KEYS if k in row), None)
            if id_key and row[id_key] and rng.random() < rates.id_placeholder:
                row[id_key] = ["无", "不详", "000000000000000000", "同上"][int(rng.integers(0, 4))]
            phone_key = next((k for k in PHONE_KEYS if k in row), None)
            if phone_key and row[phone_key]:
                if rng.random() < rates.phone_placeholder:
                    row[phone_key] = ["13800000000", "13888888888", "00000000000"][int(rng.integers(0, 3))]
                elif feed == "community" and rng.random() < rates.landline:
                    digits = int(hh[key][1:]) * 7919 % 10_000_000
                    row[phone_key] = f"027-8{digits:07d}"
