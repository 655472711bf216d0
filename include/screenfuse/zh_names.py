"""Names as forms carry them, beyond characters: placeholders typed into the name cell (无, 不详,
同上), the surnames that tell which part of a name in pinyin is the surname (`written_names` reads
names in letters), compound surnames (欧阳, 司马, 诸葛) and their readings. normalize.normalize_name
and pinyin_of use these; the matching library compares what they produce.
"""
from __future__ import annotations


# Typed to fill a required name cell, saying nothing: a name like this is missing, never shared.
NAME_PLACEHOLDERS = frozenset({"无", "不详", "未知", "同上", "同前", "见上", "无名氏", "未提供", "拒绝提供", "/", "-", "—",
                               "none", "null", "n/a", "na", "unknown", "x", "xx", "xxx", "某某"})

# Compound surnames, with their readings where a character is read otherwise out of context
# (单于 chanyu, 尉迟 yuchi, 长孙 zhangsun, 万俟 moqi).
COMPOUND_SURNAMES = {
    "欧阳": "ouyang", "司马": "sima", "诸葛": "zhuge", "上官": "shangguan", "东方": "dongfang", "皇甫": "huangfu",
    "令狐": "linghu", "慕容": "murong", "司徒": "situ", "夏侯": "xiahou", "公孙": "gongsun", "轩辕": "xuanyuan",
    "端木": "duanmu", "宇文": "yuwen", "长孙": "zhangsun", "尉迟": "yuchi", "万俟": "moqi", "单于": "chanyu",
    "澹台": "tantai", "西门": "ximen", "南宫": "nangong", "申屠": "shentu", "呼延": "huyan", "司空": "sikong",
}

# Pinyin of surnames, commonest first: decides which token of a Latin-written name is the surname.
_SURNAME_ORDER = ("wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang "
                  "xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai du ye cheng su "
                  "wei lv ding ren shen yao lu cui zhong tan fan jin shi jia xia fu fang bai zou meng xiong qin qiu "
                  "yin xue yan duan lei hou long tao li he gu mao hao gong shao wan qian qin wu dai mo kong xiang").split()
SURNAME_RANK = {p: i for i, p in reversed(list(enumerate(_SURNAME_ORDER)))} | {
    p: len(_SURNAME_ORDER) + i for i, p in enumerate(COMPOUND_SURNAMES.values())}


def is_placeholder(name: str) -> bool:
    return name.strip().lower() in NAME_PLACEHOLDERS


def split_surname(name: str) -> tuple[str, str]:
    """(surname, given name) of a Chinese name: a compound surname takes two characters."""
    if name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]
