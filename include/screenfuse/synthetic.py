"""Seeded synthetic screening feeds: one day of all four feeds, noisy the way real feeds are.

No real personal data: names are drawn from common characters, ID numbers are built from region
codes, random birth dates and sequence numbers with a valid check digit, phones are random. The
ground truth (which row is which person) is written to a separate folder the pipeline never reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from screenfuse import synthetic_reports
from screenfuse.gazetteer import load_gazetteer
from screenfuse.synthetic_answers import ANSWER_CLOCK, FEEDBACK_HEADERS, answer_push_lists  # noqa: F401 (its home was here)
from screenfuse.synthetic_documents import assign_documents, noisy_document
from screenfuse.synthetic_forms import add_form_errors, reshape_population
from screenfuse.xlsx import write_xlsx

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉玲红燕斌波宇浩凯健俊帆帅旭宁亮林琳欣怡婷雪梅琴云峰建国文志海春晓晨阳丹博思佳瑶颖嘉欢露")
VERY_COMMON_NAMES = ["王芳", "张伟", "李娜", "刘洋", "王伟", "李静", "张敏", "王静", "张丽", "刘伟"]
HOMOPHONES = {
    "伟": "玮炜卫", "芳": "方舫", "丽": "莉俐", "静": "婧靖", "敏": "民闽", "军": "君钧", "杰": "洁捷",
    "涛": "韬滔", "明": "铭鸣", "华": "桦骅", "红": "宏鸿", "平": "萍苹", "刚": "钢纲", "洋": "阳扬",
    "勇": "涌咏", "艳": "燕雁", "娟": "鹃涓", "霞": "侠", "斌": "彬滨", "波": "博", "辉": "晖徽",
    "峰": "锋丰", "鹏": "朋", "浩": "昊皓", "婷": "亭庭", "雪": "学", "梅": "玫媚", "琴": "勤芹",
    "建": "健剑", "文": "雯闻", "志": "智致", "欣": "馨鑫", "怡": "宜仪", "佳": "嘉家", "晨": "辰臣",
    "张": "章", "王": "汪", "刘": "柳", "杨": "阳", "吴": "伍", "徐": "许", "何": "贺", "林": "琳",
}
REGION_CODES = ["420106"] * 6 + ["420102", "420103", "420104", "420105", "420111", "421002", "110105", "310104", "440305", "430102"]
KEY_AREAS = ["境外", "韩国", "意大利", "伊朗", "湖北孝感", "湖北黄冈"]
OTHER_PLACES = ["北京", "长沙", "上海", "广州", "成都", "南昌", "郑州", "重庆"]
CHECKPOINTS = [("武昌火车站卡点", "xlsx"), ("友谊大道道口", "csv"), ("南湖收费站", "csv")]
POLICE_STATIONS = ["积玉桥派出所", "水果湖派出所"]
HOSPITALS = ["武昌医院发热门诊", "湖北省第三人民医院"]
STATUS_SHARES = [  # (true status, share of people)
    ("confirmed", 0.03), ("asymptomatic", 0.01), ("suspected", 0.03), ("fever", 0.06),
    ("close_contact", 0.08), ("key_area_arrival", 0.10), ("cleared", 0.03),
]
# 病情分型 of a confirmed case (seed 003: 轻型/普通型/重型/危重型), with what units write instead: a blank
# (not yet assessed), 轻症/重症 for 轻型/重型, a stray space (the normalizer strips it)
SEVERITIES = [("轻型", 0.40), ("普通型", 0.30), ("重型", 0.10), ("危重型", 0.04), ("", 0.08), ("轻症", 0.03),
              ("重症", 0.02), (" 普通型", 0.03)]
HOSPITAL_CATEGORY = {"confirmed": "确诊", "asymptomatic": "无症状", "suspected": "疑似", "fever": "发热", "cleared": "排除",
                     "discharged": "出院"}


@dataclass(frozen=True)
class NoiseLevels:
    id_missing: dict
    id_substitution: float = 0.02
    id_swap: float = 0.015
    id_fullwidth: float = 0.03
    id_old15: float = 0.03
    id_excel: float = 0.004
    name_homophone: float = 0.04
    name_traditional: float = 0.04
    name_spaces: float = 0.05
    phone_missing: float = 0.08
    phone_plus86: float = 0.08
    phone_dashes: float = 0.08
    phone_typo: float = 0.02
    phone_second: float = 0.04
    temperature_typo: float = 0.003
    unroutable_address: float = 0.02


DEFAULT_NOISE = NoiseLevels(id_missing={"checkpoint": 0.40, "police": 0.05, "hospital": 0.03, "community": 0.10})


@lru_cache(maxsize=1)
def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


def _check_char(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


class _Generator:
    def __init__(self, people: int, seed: int, day: date):
        self.rng = np.random.default_rng(seed)
        self.day = day
        self.n = people
        self.gazetteer = load_gazetteer().communities

    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    # ---- the true population -------------------------------------------------------------
    def population(self) -> pd.DataFrame:
        rows, used_ids, key = [], set(), 0
        while key < self.n:
            size = int(self.rng.choice([1, 2, 3, 4, 5], p=[0.25, 0.3, 0.25, 0.15, 0.05]))
            home = self.gazetteer.iloc[int(self.rng.integers(len(self.gazetteer)))]
            household = {
                "street": home["street"], "community": home["community"],
                "road": self.choice(home["roads"].split("|")), "number": int(self.rng.integers(1, 400)),
                "building": int(self.rng.integers(1, 30)), "unit_no": int(self.rng.integers(1, 6)),
                "room": int(self.rng.integers(1, 30)) * 100 + int(self.rng.integers(1, 5)),
                "home_phone": self._phone(), "surname": self.choice(SURNAMES), "hh": f"H{key:06d}",
            }
            for member in range(min(size, self.n - key)):
                rows.append(self._person(key, household, member, used_ids))
                key += 1
        people = pd.DataFrame(rows)
        statuses = [s for s, _ in STATUS_SHARES] + ["none"]
        shares = [p for _, p in STATUS_SHARES]
        people["true_status"] = self.rng.choice(statuses, size=len(people), p=shares + [1 - sum(shares)])
        return people

    def _person(self, key, household, member, used_ids) -> dict:
        adult = member < 2
        birth = (date(1940, 1, 1) + timedelta(days=int(self.rng.integers(0, 365 * 62)))) if adult else (
            date(1960, 1, 1) + timedelta(days=int(self.rng.integers(0, 365 * 58))))
        sex = "M" if self.chance(0.5) else "F"
        if self.chance(0.03):
            name = self.choice(VERY_COMMON_NAMES)
        else:
            surname = household["surname"] if (member != 1 and self.chance(0.85)) else self.choice(SURNAMES)
            given = "".join(self.choice(GIVEN) for _ in range(1 if self.chance(0.35) else 2))
            name = surname + given
        while True:
            region = self.choice(REGION_CODES)
            seq = int(self.rng.integers(0, 100)) * 10 + (int(self.rng.integers(0, 5)) * 2 + (1 if sex == "M" else 0))
            first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
            id18 = first17 + _check_char(first17)
            if id18 not in used_ids:
                used_ids.add(id18)
                break
        phone = household["home_phone"] if (not adult and self.chance(0.7)) or self.chance(0.1) else self._phone()
        return {"person_key": f"T{key:06d}", "name": name, "sex": sex, "birth_date": birth, "id_number": id18,
                "phone": phone, **{k: v for k, v in household.items() if k not in ("surname", "home_phone")}}

    def _phone(self) -> str:
        return "1" + self.choice("3456789") + "".join(str(d) for d in self.rng.integers(0, 10, 9))

    # ---- noisy renderings ------------------------------------------------------------------
    def noisy_name(self, name: str) -> str:
        if self.chance(DEFAULT_NOISE.name_homophone):
            positions = [i for i, ch in enumerate(name) if ch in HOMOPHONES]
            if positions:
                i = self.choice(positions)
                name = name[:i] + self.choice(HOMOPHONES[name[i]]) + name[i + 1:]
        if self.chance(DEFAULT_NOISE.name_traditional):
            name = _s2t().convert(name)
        if self.chance(DEFAULT_NOISE.name_spaces):
            name = self.choice([f"{name[0]} {name[1:]}", f" {name}", f"{name} ", " ".join(name)])
        return name

    def noisy_id(self, id18: str, feed: str, birth: date) -> str:
        noise = DEFAULT_NOISE
        if self.chance(noise.id_missing[feed]):
            return ""
        value = id18
        if birth.year < 2000 and self.chance(noise.id_old15):
            value = id18[:6] + id18[8:17]
        elif self.chance(noise.id_substitution):
            i = int(self.rng.integers(0, 17))
            value = value[:i] + str((int(value[i]) + int(self.rng.integers(1, 10))) % 10) + value[i + 1:]
        elif self.chance(noise.id_swap):
            i = int(self.rng.integers(6, 16))
            if value[i] != value[i + 1]:
                value = value[:i] + value[i + 1] + value[i] + value[i + 2:]
        if value.endswith("X") and self.chance(0.5):
            value = value[:-1] + "x"
        if self.chance(noise.id_fullwidth):
            value = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in value)
        elif self.chance(0.02):
            value = f"{value[:6]} {value[6:14]} {value[14:]}"
        return value

    def noisy_phone(self, phone: str) -> str:
        noise = DEFAULT_NOISE
        if self.chance(noise.phone_missing):
            return ""
        if self.chance(noise.phone_typo):
            i = int(self.rng.integers(3, 11))
            phone = phone[:i] + str((int(phone[i]) + 1) % 10) + phone[i + 1:]
        if self.chance(noise.phone_plus86):
            phone = self.choice(["+86", "+86 ", "0086"]) + phone
        elif self.chance(noise.phone_dashes):
            phone = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
        if self.chance(noise.phone_second):
            phone = f"{phone}{self.choice(['/', '、', ' ', ';'])}{self._phone()}"
        return phone

    def address(self, p) -> str:
        if self.chance(DEFAULT_NOISE.unroutable_address):
            return self.choice(["武昌区", "汉口江汉路附近", "武汉市", "不详"])
        forms = [
            f"武汉市武昌区{p.street}{p.community}{p.building}栋{p.unit_no}单元{p.room}室",
            f"{p.community}{p.building}-{p.unit_no}-{p.room}",
            f"{p.road}{p.number}号{p.community}{p.building}号楼{p.room}",
            f"湖北省武汉市武昌区{p.road}{p.number}号",
            f"武昌区{p.community} {p.building}栋{p.room}室",
        ]
        return self.choice(forms)

    def when(self, hour_from=0, hour_to=12) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, int(self.rng.integers(hour_from, hour_to)),
                        int(self.rng.integers(0, 60)))

    def time_text(self, moment: datetime) -> str:
        return self.choice([f"{moment:%Y-%m-%d %H:%M}", f"{moment:%Y/%m/%d %H:%M}",
                            f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"])

    def temperature(self, fever: bool) -> str:
        value = round(float(self.rng.uniform(37.4, 39.5) if fever else self.rng.uniform(36.0, 37.1)), 1)
        if self.chance(DEFAULT_NOISE.temperature_typo):
            return str(int(value * 10))
        return self.choice([f"{value}", f"{value}℃", f"{value} °C"])


def generate(people: int, seed: int, day: date, out: Path, truth: Path, day_index: int = 0,
             zero_reports: bool = False) -> dict:
    """Write the four feeds into out/<feed>/ and the ground truth into truth/truth.csv.

    `day_index` > 0: a later day of the same population (same seed): about a third of the people
    turn up again, some with a new status, some moved to a community of another street.
    `zero_reports`: every expected unit without rows that day sends a header-only file (零报告),
    about one unit in twelve (drawn from the seed) sends nothing at all that day, not even its rows, and
    about one in twelve of the others sends late (screenfuse.synthetic_reports)."""
    g, pop, rows = feed_rows(people, seed, day, day_index)
    truth_rows = []
    if zero_reports:  # a few units send nothing at all that day, not even their rows; a few send late
        silent, late = synthetic_reports.quiet_and_late(seed, day_index)
        rows = synthetic_reports.without_silent(rows, silent)
    files = _write_feeds(rows, out, day, truth_rows, g)
    if zero_reports:
        files += synthetic_reports.write_zero_reports(rows, out, day, silent, late)
    truth.mkdir(parents=True, exist_ok=True)
    suffix = f"_{day_index}" if day_index else ""
    pd.DataFrame(truth_rows, columns=["feed", "file_name", "row_number", "person_key"]).to_csv(
        truth / f"truth{suffix}.csv", index=False)
    pop.assign(birth_date=pop.birth_date.astype(str)).to_csv(truth / f"people{suffix}.csv", index=False)
    return {"people": len(pop), "files": files, "rows": {f: len(r) for f, r in rows.items()}}


def feed_rows(people: int, seed: int, day: date, day_index: int = 0):
    """The population and, per feed, (unit, row as the unit writes it, person_key) entries."""
    g = _Generator(people, seed, day)
    pop = assign_documents(g.population(), seed)  # a few hold a passport or a permit, not a resident ID
    pop = reshape_population(pop, seed)  # twins, compound surnames, dotted names (synthetic_forms)
    if day_index:
        g.rng = np.random.default_rng([seed, day_index])
        pop = _a_later_day(pop, g)
    # the index cases close contacts name: a plain frame, without the population's attrs (its twin
    # list), which pandas deep-copies on every row taken (quadratic at a district's size)
    confirmed = pd.DataFrame({c: pop.loc[pop.true_status == "confirmed", c].to_numpy() for c in ("name", "id_number")})
    # severity draws from their own stream, so the rest of the day is what it was before the field existed
    severity_rng = np.random.default_rng([seed, day_index, 3])
    severity_names, severity_shares = zip(*SEVERITIES)
    rows: dict[str, list[tuple[str, dict, str]]] = {"checkpoint": [], "police": [], "hospital": [], "community": []}

    def id_for(p, feed):
        if p.id_type != "resident_id":
            return noisy_document(p.id_number, DEFAULT_NOISE.id_missing[feed], g.rng)
        value = g.noisy_id(p.id_number, feed, p.birth_date)
        if value and g.chance(DEFAULT_NOISE.id_excel) and feed != "police":
            # the ID went through Excel: a number cell in XLSX, its 15-digit rendering in CSV
            return float(p.id_number[:17] + "0") if feed == "community" else f"{float(p.id_number[:17] + '0'):.5E}"
        return value

    for p in pop.itertuples():
        if day_index and not p.seen_today:
            continue
        status = p.true_status
        # community grid survey reaches most residents
        if g.chance(0.75) or status in ("key_area_arrival",):
            came = g.choice(KEY_AREAS) if status == "key_area_arrival" else (g.choice(OTHER_PLACES) if g.chance(0.1) else "")
            rows["community"].append((p.street, {
                "街道": p.street, "社区": p.community, "网格": f"{p.community[:2]}{int(g.rng.integers(1, 9))}网格",
                "楼栋": f"{p.building}栋", "单元": f"{p.unit_no}单元", "房号": str(p.room),
                "摸排时间": g.time_text(g.when()), "姓名": g.noisy_name(p.name), "身份证号": id_for(p, "community"),
                "手机号": g.noisy_phone(p.phone), "返回地": came,
                "返回日期": (day - timedelta(days=int(g.rng.integers(1, 12)))).isoformat() if came else "",
                "体温": g.temperature(status == "fever" and g.chance(0.5)),
                "居家隔离开始日期": "", "摸排人": f"网格员{int(g.rng.integers(1, 50)):02d}",
            }, p.person_key))
        # checkpoints see arrivals and some residents
        visits = 1 if (status == "key_area_arrival" and g.chance(0.9)) or g.chance(0.12) else 0
        if status == "fever" and g.chance(0.5):
            visits = 1
        for _ in range(visits + (1 if visits and g.chance(0.1) else 0)):
            point, _fmt = g.choice(CHECKPOINTS)
            fever = status == "fever"
            came = g.choice(KEY_AREAS) if status == "key_area_arrival" else g.choice(OTHER_PLACES)
            rows["checkpoint"].append((point, {
                "卡点名称": point, "检测时间": g.time_text(g.when()), "姓名": g.noisy_name(p.name),
                "身份证号": id_for(p, "checkpoint"), "联系电话": g.noisy_phone(p.phone),
                "车牌号": f"鄂A{int(g.rng.integers(10000, 99999))}", "来源地": came, "目的地": g.address(p),
                "体温": g.temperature(fever), "处置措施": "转运发热门诊" if fever else "放行",
            }, p.person_key))
        # police: close contacts (traced from a confirmed case), some arrivals, some random
        if status == "close_contact" or (status == "key_area_arrival" and g.chance(0.4)) or g.chance(0.04):
            index_case = confirmed.iloc[int(g.rng.integers(len(confirmed)))] if len(confirmed) and status == "close_contact" else None
            rows["police"].append((g.choice(POLICE_STATIONS), {
                "登记时间": g.time_text(g.when()), "姓名": g.noisy_name(p.name), "公民身份号码": id_for(p, "police"),
                "手机号码": g.noisy_phone(p.phone), "户籍地址": f"湖北省武汉市武昌区{p.road}{p.number}号",
                "现住址": g.address(p), "旅居史": g.choice(KEY_AREAS) if status == "key_area_arrival" else "",
                "密接对象姓名": index_case["name"] if index_case is not None else "",
                "密接对象身份证": index_case["id_number"] if index_case is not None else "",
                "流调编号": f"LD{day:%Y%m%d}{int(g.rng.integers(1000, 9999))}" if index_case is not None else "",
            }, p.person_key))
        # hospitals: the four categories and the cleared
        if status in HOSPITAL_CATEGORY and not (status == "fever" and g.chance(0.4)):
            hospital = g.choice(HOSPITALS)
            category = HOSPITAL_CATEGORY[status]
            for cat in (["发热", category] if status in ("confirmed", "suspected") and g.chance(0.3) else [category]):
                rows["hospital"].append((hospital, {
                    "医疗机构": hospital, "就诊时间": g.time_text(g.when(0, 12)), "患者姓名": g.noisy_name(p.name),
                    "身份证号码": id_for(p, "hospital"), "联系方式": g.noisy_phone(p.phone), "住址": g.address(p),
                    "人员类别": cat, "核酸结果": {"确诊": "阳性", "无症状": "阳性", "排除": "阴性", "出院": "阴性"}.get(cat, "待检"),
                    "CT结果": "", "入院日期": day.isoformat() if cat in ("确诊", "疑似") else "",
                    "出院日期": day.isoformat() if cat == "出院" else "",
                    "处置": {"确诊": "收治入院", "疑似": "收治入院", "出院": "出院转集中隔离"}.get(cat, "居家观察"),
                    "病情分型": str(severity_rng.choice(severity_names, p=severity_shares)) if cat == "确诊" else "",
                }, p.person_key))
    add_form_errors(rows, pop, seed, day_index)
    return g, pop, rows


def _a_later_day(pop: pd.DataFrame, g: "_Generator") -> pd.DataFrame:
    """The population on a later day: a third turn up again; of those, some have a new status
    (half of yesterday's confirmed cases discharged, half of the suspected and fever cases
    cleared) and some moved to a community of another street office."""
    pop = pop.copy()
    pop["seen_today"] = g.rng.random(len(pop)) < 0.35
    statuses = [s for s, _ in STATUS_SHARES] + ["none"]
    shares = [p for _, p in STATUS_SHARES]
    changed = pop["seen_today"] & (g.rng.random(len(pop)) < 0.08)
    pop.loc[changed, "true_status"] = g.rng.choice(statuses, size=int(changed.sum()), p=shares + [1 - sum(shares)])
    # the way back: some of yesterday's cases are discharged, some suspected or fever cases cleared
    back = pop["seen_today"] & ~changed & (g.rng.random(len(pop)) < 0.5)
    pop.loc[back & (pop["true_status"] == "confirmed"), "true_status"] = "discharged"
    pop.loc[back & pop["true_status"].isin(["suspected", "fever"]), "true_status"] = "cleared"
    movers = np.flatnonzero((pop["seen_today"] & (g.rng.random(len(pop)) < 0.05)).to_numpy())
    for i in movers:
        here = pop.iloc[i]["street"]
        options = g.gazetteer[g.gazetteer["street"] != here]
        home = options.iloc[int(g.rng.integers(len(options)))]
        pop.iloc[i, pop.columns.get_loc("street")] = home["street"]
        pop.iloc[i, pop.columns.get_loc("community")] = home["community"]
        pop.iloc[i, pop.columns.get_loc("road")] = g.choice(home["roads"].split("|"))
    pop["moved"] = False
    pop.iloc[movers, pop.columns.get_loc("moved")] = True
    return pop


def _write_feeds(rows, out: Path, day: date, truth_rows: list, g: _Generator) -> int:
    files = 0
    stamp = f"{day:%Y%m%d}"
    formats = {"police": ("csv", "gbk"), "hospital": ("csv", "utf-8-sig")}
    for feed, entries in rows.items():
        by_unit: dict[str, list] = {}
        for unit, row, person_key in entries:
            by_unit.setdefault(unit, []).append((row, person_key))
        for i, (unit, members) in enumerate(sorted(by_unit.items())):
            order = g.rng.permutation(len(members))
            frame = pd.DataFrame([members[j][0] for j in order])
            if feed == "police":
                frame.insert(0, "派出所", unit)
            if feed == "checkpoint":
                fmt, encoding = dict(CHECKPOINTS)[unit], "utf-8"
            elif feed == "community":
                fmt, encoding = ("xlsx", None) if i % 2 == 0 else ("csv", "utf-8")
            else:
                fmt, encoding = formats[feed]
            path = out / feed / f"{unit}_{stamp}.{fmt}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "xlsx":
                write_xlsx(frame, path)
            else:
                path.write_bytes(frame.to_csv(index=False).encode(encoding))
            files += 1
            truth_rows.extend((feed, path.name, n + 1, members[j][1]) for n, j in enumerate(order))
    return files

