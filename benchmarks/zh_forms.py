"""A second generator of fictional Chinese person records, written apart from the app's own
(it imports nothing of screenfuse.synthetic*), so that matching is measured on noise the project's
generator does not make: rural addresses (县/镇/村/组, written with and without their prefixes,
Chinese numerals for buildings and groups), dates in many forms (85.3.7, 850307, 1985年3月7日,
85-03-07), phones with +86 and separators, a digit mistyped or two swapped, IDs with a lower-case
x or missing, traditional characters, homophone surnames, a middle character dropped from a
three-character name, households with twins, planted namesakes. Benchmark section 7 (run.py).

Every name, ID, phone and address is made up: IDs use plausible region codes and a valid
GB 11643 MOD 11-2 check digit, the sequence numbers, names and phones are random.

Output (in --out dir):
  records.csv : record_id, name, id_number, id_type, phone, birth_date, sex, address   (raw, noisy)
  truth.csv   : record_id, person_key, household, feed, tags   (tags: the noise applied, '|'-joined)
  people.csv  : person, household, role, name, id18, birth, sex, mobile, hh_phone, twin_of, namesake
Usage: python benchmarks/zh_forms.py --people 15000 --seed 11 --out <folder>
"""
from __future__ import annotations

import argparse
import csv
import os
import random

# ---------------------------------------------------------------- tables
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
SURNAME_W = [max(1.0, 30 - i * 0.3) for i in range(len(SURNAMES))]
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华飞玉萍红燕鹏辉宇浩然子涵梓轩欣怡诗琪俊杰思远雨晨佳琪博文晓峰建国志强海燕春梅秋菊德明永胜文斌立新世杰亚楠若曦嘉怡一鸣天佑浩宇紫萱晨曦梦琪")
GEN_CHARS = list("子梓浩俊思嘉雨佳晓建志永文立世亚天一紫欣")
COMMON_NAMES = ["王伟", "李娜", "张敏", "王芳", "李静", "张伟", "刘洋", "王静", "李强", "张丽", "王磊", "李军", "刘芳", "陈静"]
# homophone surname pairs (same toneless pinyin)
HOMOPHONE = {"张": "章", "章": "张", "王": "汪", "汪": "王", "李": "黎", "黎": "李", "徐": "许", "许": "徐",
             "吴": "伍", "杨": "阳", "刘": "柳", "付": "傅", "肖": "萧", "于": "余", "余": "于", "钟": "仲",
             "贺": "何", "何": "贺", "姚": "尧", "程": "成", "江": "姜", "姜": "江", "黄": "皇"}
TRAD = {"张": "張", "刘": "劉", "陈": "陳", "杨": "楊", "黄": "黃", "赵": "趙", "吴": "吳", "孙": "孫", "马": "馬",
        "郑": "鄭", "谢": "謝", "韩": "韓", "冯": "馮", "邓": "鄧", "叶": "葉", "苏": "蘇", "卢": "盧", "钟": "鍾",
        "谭": "譚", "陆": "陸", "贾": "賈", "龙": "龍", "顾": "顧", "龚": "龔", "钱": "錢", "汤": "湯", "罗": "羅",
        "伟": "偉", "丽": "麗", "华": "華", "军": "軍", "红": "紅", "兰": "蘭", "飞": "飛", "鹏": "鵬", "涛": "濤",
        "杰": "傑", "静": "靜", "晓": "曉", "刚": "剛", "辉": "輝", "艳": "艷", "凤": "鳳", "强": "強", "宇": "宇",
        "轩": "軒", "诗": "詩", "琪": "琪", "国": "國", "志": "誌", "胜": "勝", "斌": "斌", "梦": "夢", "萱": "萱",
        "亚": "亞", "嘉": "嘉", "一": "一", "鸣": "鳴", "桂": "桂", "霞": "霞", "萍": "萍", "菊": "菊", "春": "春",
        "远": "遠", "晨": "晨", "峰": "峰", "海": "海", "燕": "燕", "梅": "梅", "德": "德", "明": "明", "永": "永",
        "文": "文", "立": "立", "新": "新", "世": "世", "楠": "楠", "若": "若", "曦": "曦", "怡": "怡", "天": "天",
        "佑": "佑", "浩": "浩", "紫": "紫", "欣": "欣", "雨": "雨", "思": "思", "子": "子", "涵": "涵", "梓": "梓"}
CN_DIGIT = "零一二三四五六七八九十"

# urban: (province, city, district, district ID code, streets, communities)
URBAN = [
    ("湖北省", "武汉市", "武昌区", "420106", ["中山路", "紫阳路", "中南二路", "友谊大道"], ["水果湖社区", "紫阳小区", "丁字桥花园", "首义家园"]),
    ("湖北省", "武汉市", "洪山区", "420111", ["珞喻路", "卓刀泉路", "雄楚大道"], ["卓刀泉社区", "南湖花园", "书城小区"]),
    ("湖北省", "武汉市", "江汉区", "420103", ["新华路", "唐家墩路", "发展大道"], ["新华家园", "唐家墩社区", "常青苑"]),
    ("湖南省", "长沙市", "岳麓区", "430104", ["麓山路", "银盆岭路", "枫林三路"], ["银盆岭社区", "桃花岭小区", "望月湖社区"]),
]
# rural: (province, city, county, county code, towns -> villages)
RURAL = [
    ("湖北省", "黄冈市", "红安县", "421122", {"七里坪镇": ["柏林寺村", "长胜街村", "刘河村"], "华家河镇": ["祝家楼村", "滕家堰村"]}),
    ("湖北省", "孝感市", "孝昌县", "420921", {"花园镇": ["马河村", "大桥村"], "周巷镇": ["高湖村", "新建村", "火星村"]}),
    ("河南省", "信阳市", "光山县", "411522", {"泼陂河镇": ["黄涂湾村", "何围孜村"], "砖桥镇": ["万河村", "芦畈村"]}),
]
BIRTH_REGIONS = ["420106", "420111", "420103", "430104", "421122", "420921", "411522", "420102", "420104",
                 "421181", "430102", "411502", "420902", "421102"]
FEEDS = ["hospital", "community", "checkpoint", "workplace", "selfreport"]
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check_char(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, W)) % 11]


def make_id(region: str, birth: tuple[int, int, int], seq: int) -> str:
    body = f"{region}{birth[0]:04d}{birth[1]:02d}{birth[2]:02d}{seq:03d}"
    return body + check_char(body)


def cn_num(n: int) -> str:
    if n <= 10:
        return CN_DIGIT[n]
    if n < 20:
        return "十" + CN_DIGIT[n - 10]
    return CN_DIGIT[n // 10] + "十" + (CN_DIGIT[n % 10] if n % 10 else "")


class Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.used_ids: set[str] = set()
        self.used_mobiles: set[str] = set()

    # ------------------------------------------------ people
    def mobile(self) -> str:
        while True:
            m = "1" + self.r.choice("3456789") + "".join(self.r.choice("0123456789") for _ in range(9))
            if m not in self.used_mobiles and len(set(m[3:])) > 2:
                self.used_mobiles.add(m)
                return m

    def landline(self, area_code: str) -> str:
        return f"{area_code}-{self.r.choice('5678')}{''.join(self.r.choice('0123456789') for _ in range(7))}"

    def birth(self, lo=1940, hi=2019) -> tuple[int, int, int]:
        y = self.r.randint(lo, hi)
        m = self.r.randint(1, 12)
        d = self.r.randint(1, 28 if m == 2 else 30)
        return (y, m, d)

    def new_id(self, region, birth, sex, seq=None) -> str:
        """A unique fictional ID; the sequence's last digit is odd for men (GB 11643)."""
        while True:
            s = seq if seq is not None else self.r.randint(0, 998)
            if (s % 2 == 1) != (sex == "M"):
                s = (s + 1) % 1000
            pid = make_id(region, birth, s)
            if pid not in self.used_ids:
                self.used_ids.add(pid)
                return pid
            seq = None

    def given(self, n: int | None = None, gen_char: str | None = None) -> str:
        n = n or self.r.choice([1, 2, 2, 2])
        chars = [self.r.choice(GIVEN) for _ in range(n)]
        if gen_char and n == 2:
            chars[0] = gen_char
        return "".join(chars)

    def home(self):
        """A fictional home: structured so each record can write it its own way."""
        if self.r.random() < 0.55:
            prov, city, dist, code, streets, comms = self.r.choice(URBAN)
            return {"kind": "urban", "prov": prov, "city": city, "dist": dist, "code": code,
                    "street": self.r.choice(streets), "no": self.r.randint(1, 400), "comm": self.r.choice(comms),
                    "bld": self.r.randint(1, 30), "unit": self.r.randint(1, 4),
                    "room": self.r.randint(1, 28) * 100 + self.r.randint(1, 6),
                    "area_code": "027" if city == "武汉市" else "0731"}
        prov, city, county, code, towns = self.r.choice(RURAL)
        town = self.r.choice(list(towns))
        return {"kind": "rural", "prov": prov, "city": city, "dist": county, "code": code, "town": town,
                "village": self.r.choice(towns[town]), "group": self.r.randint(1, 12), "door": self.r.randint(1, 80),
                "area_code": {"黄冈市": "0713", "孝感市": "0712", "信阳市": "0376"}[city]}

    def people(self, n_people: int):
        people, households = [], []
        hid = 0
        while len(people) < n_people:
            hid += 1
            home = self.home()
            size = self.r.choices([1, 2, 3, 4, 5], [45, 25, 17, 9, 4])[0]
            surname = self.r.choices(SURNAMES, SURNAME_W)[0]
            hh_phone = self.landline(home["area_code"]) if self.r.random() < 0.35 else ""
            members = []
            head_birth = self.birth(1950, 1990)
            twins_here = size >= 3 and self.r.random() < 0.35
            gen_char = self.r.choice(GEN_CHARS)
            child_birth_base = None
            for k in range(size):
                sex = self.r.choice("MF")
                namesake = ""
                if k == 0:
                    b, role, sn = head_birth, "head", surname
                elif k == 1:
                    b, role, sn = self.birth(head_birth[0] - 4, head_birth[0] + 4), "spouse", self.r.choices(SURNAMES, SURNAME_W)[0]
                else:
                    role, sn = "child", surname
                    if twins_here and k == 3 and child_birth_base is not None:
                        b, role = child_birth_base, "twin"
                    else:
                        b = self.birth(min(head_birth[0] + 20, 2019), min(head_birth[0] + 38, 2019))
                        child_birth_base = b
                if role in ("child", "twin"):
                    name = sn + self.given(2, gen_char)  # siblings share a generation character
                else:
                    name = sn + self.given()
                if role not in ("child", "twin") and self.r.random() < 0.05:
                    name = self.r.choice(COMMON_NAMES)  # a very common name: namesakes in the area
                    namesake = "common"
                region = self.r.choice(BIRTH_REGIONS) if role != "twin" else members[-1]["region"]
                twin_of = ""
                if role == "twin":
                    prev = members[-1]
                    pseq = int(prev["id18"][14:17])
                    seq = pseq + (2 if sex == prev["sex"] else 1)  # consecutive sequence digits
                    if (seq % 2 == 1) != (sex == "M"):
                        seq += 1
                    pid = self.new_id(region, b, sex, seq)
                    twin_of = prev["person"]
                else:
                    pid = self.new_id(region, b, sex)
                mob = self.mobile() if (b[0] <= 2006 and self.r.random() < 0.92) else ""
                p = {"person": f"P{len(people) + len(members):06d}", "household": f"H{hid:05d}", "role": role,
                     "name": name, "id18": pid, "birth": b, "sex": sex, "mobile": mob, "hh_phone": hh_phone,
                     "twin_of": twin_of, "namesake": namesake, "home": home, "region": region}
                members.append(p)
            # children without a phone use a parent's
            for p in members:
                if not p["mobile"]:
                    p["use_phone"] = members[0]["mobile"] or hh_phone
                else:
                    p["use_phone"] = p["mobile"]
            people.extend(members)
            households.append(members)
        people = people[:n_people]
        # extra namesakes: some people of common names placed on purpose in the same community with the same birth year
        return people

    # ------------------------------------------------ record writing
    def write_name(self, p, tags):
        name = p["name"]
        r = self.r
        if r.random() < 0.03 and name[0] in HOMOPHONE:
            name = HOMOPHONE[name[0]] + name[1:]
            tags.append("homophone_surname")
        if r.random() < 0.05:
            t = "".join(TRAD.get(c, c) for c in name)
            if t != name:
                name = t
                tags.append("traditional")
        if len(p["name"]) == 3 and r.random() < 0.03:
            name = name[0] + name[2]
            tags.append("nickname_drop")
        if r.random() < 0.04 and len(name) >= 2:
            cut = 1 if r.random() < 0.8 else r.randint(1, len(name) - 1)
            name = name[:cut] + r.choice([" ", "  ", "\u3000"]) + name[cut:]
            tags.append("name_space")
        return name

    def write_id(self, p, feed, tags):
        r = self.r
        missing = {"hospital": 0.04, "community": 0.30, "checkpoint": 0.10, "workplace": 0.55, "selfreport": 0.25}[feed]
        if r.random() < missing:
            tags.append("id_missing")
            return ""
        pid = p["id18"]
        u = r.random()
        if u < 0.025:
            i = r.randrange(17)
            pid = pid[:i] + r.choice([d for d in "0123456789" if d != pid[i]]) + pid[i + 1:]
            tags.append("id_typo")
        elif u < 0.05:
            i = r.randrange(16)
            if pid[i] != pid[i + 1]:
                pid = pid[:i] + pid[i + 1] + pid[i] + pid[i + 2:]
                tags.append("id_swap")
        if pid.endswith("X") and r.random() < 0.5:
            pid = pid[:-1] + "x"
            tags.append("id_lower_x")
        if r.random() < 0.05:
            pid = pid[:6] + " " + pid[6:14] + " " + pid[14:]
            tags.append("id_spaces")
        return pid

    def write_phone(self, p, feed, tags):
        r = self.r
        num = p["use_phone"]
        if p["hh_phone"] and (r.random() < 0.25 or not num):
            num = p["hh_phone"]
            tags.append("landline")
        if not num or r.random() < 0.06:
            tags.append("phone_missing")
            return ""
        if num.startswith("1"):
            if num != p["mobile"]:
                tags.append("parent_phone")
            u = r.random()
            if u < 0.03:
                i = r.randrange(2, 11)
                num = num[:i] + r.choice([d for d in "0123456789" if d != num[i]]) + num[i + 1:]
                tags.append("phone_typo")
            elif u < 0.06:
                i = r.randrange(2, 10)
                if num[i] != num[i + 1]:
                    num = num[:i] + num[i + 1] + num[i] + num[i + 2:]
                    tags.append("phone_swap")
            style = r.choices(["plain", "+86", "86-", "space", "dash", "+86 space"], [50, 12, 8, 12, 12, 6])[0]
            if style != "plain":
                tags.append("phone_fmt")
            num = {"plain": num, "+86": "+86" + num, "86-": "86-" + num,
                   "space": f"{num[:3]} {num[3:7]} {num[7:]}", "dash": f"{num[:3]}-{num[3:7]}-{num[7:]}",
                   "+86 space": f"+86 {num[:3]} {num[3:7]} {num[7:]}"}[style]
        return num

    def write_birth(self, p, feed, tags):
        r = self.r
        if r.random() < 0.12:
            return ""
        y, m, d = p["birth"]
        if r.random() < 0.015:
            d = d + 1 if d < 28 else d - 1
            tags.append("birth_typo")
        style = r.choices(["iso", "dot", "compact", "cn", "yy", "slash"], [30, 15, 15, 15, 10, 15])[0]
        if style != "iso":
            tags.append("birth_" + style)
        return {"iso": f"{y:04d}-{m:02d}-{d:02d}", "dot": f"{y}.{m}.{d}", "compact": f"{y:04d}{m:02d}{d:02d}",
                "cn": f"{y}年{m}月{d}日", "yy": f"{y % 100:02d}-{m:02d}-{d:02d}", "slash": f"{y}/{m}/{d}"}[style]

    def write_sex(self, p, tags):
        r = self.r
        if r.random() < 0.15:
            return ""
        style = r.choice(["cn", "cn", "MF", "12"])
        return {"cn": {"M": "男", "F": "女"}, "MF": {"M": "M", "F": "F"}, "12": {"M": "1", "F": "2"}}[style][p["sex"]]

    def write_address(self, p, feed, tags):
        r = self.r
        h = p["home"]
        if r.random() < (0.35 if feed == "checkpoint" else 0.06):
            tags.append("address_missing")
            return ""
        prefix_style = r.choice(["full", "city", "none", "none"])
        prefix = {"full": h["prov"] + h["city"] + h["dist"], "city": h["city"] + h["dist"], "none": ""}[prefix_style]
        if prefix_style != "full":
            tags.append("addr_prefix_" + prefix_style)
        if h["kind"] == "urban":
            bstyle = r.choice(["栋", "幢", "号楼", "cn栋", "dash"])
            b = h["bld"]
            if bstyle != "栋":
                tags.append("bld_" + bstyle)
            if bstyle == "dash":
                tail = f"{b}-{h['unit']}-{h['room']}"
            else:
                bld = (cn_num(b) + "栋") if bstyle == "cn栋" else f"{b}{bstyle}"
                tail = f"{bld}{h['unit']}单元{h['room']}" + ("室" if r.random() < 0.6 else "")
            road = f"{h['street']}{h['no']}号" if r.random() < 0.5 else ""
            if road:
                tags.append("addr_road")
            return prefix + road + h["comm"] + tail
        # rural: 镇 村 组
        g = h["group"]
        gstyle = r.choice(["组", "cn组", "村民小组", "队"])
        if gstyle != "组":
            tags.append("grp_" + gstyle)
        grp = {"组": f"{g}组", "cn组": cn_num(g) + "组", "村民小组": f"{g}村民小组", "队": cn_num(g) + "队"}[gstyle]
        town = h["town"] if (prefix_style != "none" or r.random() < 0.7) else ""
        if not town:
            tags.append("no_town")
        door = f"{h['door']}号" if r.random() < 0.4 else ""
        return prefix + town + h["village"] + grp + door

    def records(self, people):
        recs, truth = [], []
        for p in people:
            k = self.r.choices([1, 2, 3, 4], [38, 32, 20, 10])[0]
            feeds = self.r.sample(FEEDS, k)
            for feed in feeds:
                tags: list[str] = []
                rec = {"name": self.write_name(p, tags), "id_number": self.write_id(p, feed, tags),
                       "id_type": self.r.choice(["", "", "居民身份证", "身份证"]),
                       "phone": self.write_phone(p, feed, tags), "birth_date": self.write_birth(p, feed, tags),
                       "sex": self.write_sex(p, tags), "address": self.write_address(p, feed, tags)}
                recs.append((p, feed, rec, tags))
        self.r.shuffle(recs)
        out, tr = [], []
        for i, (p, feed, rec, tags) in enumerate(recs):
            rid = f"R{i:07d}"
            out.append({"record_id": rid, **rec})
            tr.append({"record_id": rid, "person_key": p["person"], "household": p["household"], "feed": feed,
                       "tags": "|".join(tags)})
        return out, tr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=15000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    write(a.people, a.seed, a.out)


def write(people_count: int, seed: int, out: str) -> None:
    """Generate `people_count` people (and the planted namesakes) into the folder `out`."""
    os.makedirs(out, exist_ok=True)
    g = Gen(seed)
    people = g.people(people_count)
    # namesakes placed on purpose: for some common-name people add a different person in the same
    # home area, same name, sometimes the same birth year (appended as new single-person households)
    extra = []
    for p in [q for q in people if q["namesake"] == "common"]:
        if g.r.random() < 0.7:
            home = dict(p["home"])
            if home["kind"] == "urban":
                home["bld"] = g.r.randint(1, 30)
                home["room"] = g.r.randint(1, 28) * 100 + g.r.randint(1, 6)
            else:
                home["group"] = g.r.randint(1, 12)
                home["door"] = g.r.randint(1, 80)
            sex = p["sex"]
            b = (p["birth"][0], g.r.randint(1, 12), g.r.randint(1, 28)) if g.r.random() < 0.5 else g.birth(1950, 2000)
            q = {"person": "", "household": "", "role": "head", "name": p["name"], "birth": b, "sex": sex,
                 "mobile": g.mobile(), "hh_phone": "", "twin_of": "", "namesake": "planted:" + p["person"],
                 "home": home, "region": p["region"]}
            q["id18"] = g.new_id(q["region"], b, sex)
            q["use_phone"] = q["mobile"]
            extra.append(q)
    base = len(people)
    for j, q in enumerate(extra):
        q["person"] = f"P{base + j:06d}"
        q["household"] = f"HN{j:05d}"
    people += extra
    recs, truth = g.records(people)
    with open(os.path.join(out, "records.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["record_id", "name", "id_number", "id_type", "phone", "birth_date", "sex", "address"])
        w.writeheader()
        w.writerows(recs)
    with open(os.path.join(out, "truth.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["record_id", "person_key", "household", "feed", "tags"])
        w.writeheader()
        w.writerows(truth)
    with open(os.path.join(out, "people.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["person", "household", "role", "name", "id18", "birth", "sex", "mobile", "hh_phone",
                               "twin_of", "namesake", "home"])
        w.writeheader()
        for p in people:
            w.writerow({k: ("%04d-%02d-%02d" % p["birth"] if k == "birth" else p.get(k, "")) for k in w.fieldnames})
    print(f"{len(people)} people, {len(recs)} records -> {out}")


if __name__ == "__main__":
    main()
