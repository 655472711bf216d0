"""Addresses as units write them → canonical text, and the parts matching compares: tokens (place
names, then 号/栋/单元/室 numbers), the area (a community or village, else the first road) and the
home (area, building, room; in a village its group and door number). Once per distinct value.
"""
from __future__ import annotations

import re

import pandas as pd

from screenfuse.matching import zh_text
from screenfuse.normalize import _each, halfwidth, on_distinct


_ADDRESS_PREFIX = re.compile(r"^(湖北省)?(武汉市)?")


def normalize_addresses(values: pd.Series) -> pd.Series:
    """Addresses: half-width, no spaces, province/city prefix dropped, unit forms unified."""
    return on_distinct(values, _normalize_addresses)


_BUILDING_FORMS = re.compile(r"([0-9]+)(?:号楼|幢)")


# a number in Chinese characters before a unit word (二十七栋, 三单元, 五〇二室, 四组) is written in
# digits; a village's group (村民小组, 小组, 队: a production team) is its 组
_UNIT_WORDS = "栋|幢|号楼|单元|室|层|组|队|号|村民小组|小组"
_CN_NUMBER = re.compile(rf"([零〇一二三四五六七八九十百]{{1,6}})(?={_UNIT_WORDS})")
_CN_DIGITS = {ch: str(i) for i, ch in enumerate("零一二三四五六七八九")} | {"〇": "0"}
_VILLAGE_GROUP = re.compile(r"(?<=村)第?([0-9]{1,3})(?:村民小组|小组|组|队)")


def _digits(match: re.Match) -> str:
    """一 → 1, 十五 → 15, 二十七 → 27, 五〇二 → 502, 一百零五 → 105; anything else (十十) stays."""
    text = match.group(1)
    value = _cn_value(text)
    return text if value is None else value


def _cn_value(text: str) -> str | None:
    if "百" not in text and "十" not in text:
        return "".join(_CN_DIGITS[ch] for ch in text)
    hundreds, tens = 0, text
    if "百" in text:
        head, _, tens = text.partition("百")
        if len(head) > 1 or "百" in tens or (head and head not in _CN_DIGITS):
            return None
        hundreds, tens = int(_CN_DIGITS.get(head, "1")), tens.lstrip("零〇")
    if not tens:
        return str(hundreds * 100)
    if "十" not in tens:
        return str(hundreds * 100 + int(_CN_DIGITS[tens])) if len(tens) == 1 else None
    ten, _, one = tens.partition("十")
    if len(ten) > 1 or len(one) > 1 or "十" in one:
        return None
    ten_value = int(_CN_DIGITS.get(ten, "1"))
    return str(hundreds * 100 + ten_value * 10 + int(_CN_DIGITS.get(one, "0")))


def _normalize_address(value: str) -> str:
    text = "".join(halfwidth(value).split())
    text = _ADDRESS_PREFIX.sub("", text, count=1)
    text = _CN_NUMBER.sub(_digits, text)
    text = _VILLAGE_GROUP.sub(r"\1组", text)
    return _BUILDING_FORMS.sub(r"\1栋", text) if ("号楼" in text or "幢" in text) else text


def _normalize_addresses(values: pd.Series) -> pd.Series:
    return _each(values, _normalize_address)


COMMUNITY_SUFFIXES = zh_text.COMMUNITY_SUFFIXES  # the comparators need them too: the library holds them
_COMMUNITY_SUFFIX = "|".join(COMMUNITY_SUFFIXES)
_ROAD = r"[\u4e00-\u9fff]{1,6}?(?:大道|路|街|巷)(?:大街|大道|[一二三四五六七八九十东西南北中]路)?"
_COMMUNITY = rf"[\u4e00-\u9fff]{{1,8}}?(?:{_COMMUNITY_SUFFIX})"
# A place is a road or a community; neither may stop right before a bare community suffix, so
# '广桃街社区' and '益文村社区' stay whole while '首义路大街益文村社区' gives a road and a community.
_PLACE = re.compile(rf"(?:{_ROAD}|{_COMMUNITY})(?!{_COMMUNITY_SUFFIX})")
_UNIT_FORMS = [  # building-unit-room written as 3-2-501, 3栋2单元501室, 3号楼501 …
    (re.compile(r"(?<![0-9])([0-9]{1,3})-([0-9]{1,2})-([0-9]{2,4})(?![0-9])"), r" \1栋 \2单元 \3室 "),
    (re.compile(r"(?<![0-9])([0-9]{1,3})-([0-9]{2,4})(?![0-9])"), r" \1栋 \2室 "),
]
ADDRESS_PARTS = ["address", "address_area", "address_home"]


def address_parts(addresses: pd.Series) -> pd.DataFrame:
    """Normalized addresses → tokens, area and home (see `_address_parts`), once per distinct value."""
    return on_distinct(addresses, _address_parts)


def address_parts_of(raw: str) -> tuple[str, str, str]:
    """One raw address → (tokens, area, home): normalize_addresses then address_parts."""
    return _parts_of(_normalize_address(raw))


def address_tokens(addresses: pd.Series) -> pd.Series:
    return address_parts(addresses)["address"]


def _address_parts(addresses: pd.Series) -> pd.DataFrame:
    """Three views of a normalized address, for comparing and blocking.

    address: space-separated tokens, places then 号/栋/单元/室 numbers. Different ways of
      writing one home share most tokens, which token-set similarity rewards: '振华社区3-2-501'
      and '武昌区振华社区3栋2单元501室' both give '振华社区 3栋 2单元 501室'.
    address_area: the community (or, without one, the first road): a blocking key.
    address_home: area|building|room ('振华社区|3栋|501室'), one home however it was written;
      '' unless both the area and the room are known.
    """
    rows = [_parts_of(value) for value in addresses.tolist()]
    return pd.DataFrame(rows, columns=ADDRESS_PARTS, index=addresses.index, dtype=object)


# province/city, district or county, street office or town (镇, 乡): dropped from the front, in this
# order; not 小区, 社区 …, nor a county or town word that starts a community or road (古镇社区, 新镇路)
_NOT_A_PLACE_NAME = rf"(?!{_COMMUNITY_SUFFIX}|路|街|大道|巷|[0-9])"
# a county only before a town, village or street office, a town only before a village: 老县城小区 and
# 水乡人家小区 are communities' names
_ADMIN_PREFIX = re.compile(r"^(?:[\u4e00-\u9fff]{2,7}?[省市])*"
                           rf"(?:[\u4e00-\u9fff]{{1,4}}?(?<![小社园景校])区"
                           rf"|[\u4e00-\u9fff]{{1,6}}?县{_NOT_A_PLACE_NAME}(?=[\u4e00-\u9fff]{{1,8}}?(?:[镇乡]|村|街道)))?"
                           rf"(?:[\u4e00-\u9fff]{{1,6}}?街道"
                           rf"|[\u4e00-\u9fff]{{1,6}}?[镇乡]{_NOT_A_PLACE_NAME}(?=[\u4e00-\u9fff]{{1,8}}?村))?")
_NUMBER_OR_DIGITS = re.compile(r"[0-9]+(?:号|栋|单元|室|组)?")


def _parts_of(text: str) -> tuple[str, str, str]:
    prefix = _ADMIN_PREFIX.match(text).end()
    if prefix:
        text = text[prefix:]
    if "-" in text:
        for pattern, replacement in _UNIT_FORMS:
            text = pattern.sub(replacement, text)
    # numbers end place names: '270号益文村社区' must not give a place '号益文村社区'
    places = _PLACE.findall(_NUMBER_OR_DIGITS.sub(" ", text))
    numbers, rooms, doors, building, room = [], [], [], "", ""
    for token in _NUMBER_OR_DIGITS.findall(text):
        last = token[-1]
        if last in "栋组":  # a village's group is its building
            building = building or token
        elif last == "号" and building:
            doors.append(token)
        elif last == "室":
            room = room or token
        elif last.isdigit():
            if 3 <= len(token) <= 4:
                rooms.append(token + "室")
            continue
        numbers.append(token)
    if rooms:
        room = room or rooms[0]
        numbers += rooms
    if building.endswith("组") and doors:  # a village house: its group and door number
        room = room or doors[0]
    area = ""
    for place in places:
        if place.endswith(COMMUNITY_SUFFIXES):
            area = place
            break
    else:
        area = places[0] if places else ""
    home = f"{area}|{building}|{room}" if area and room else ""
    return " ".join(places + numbers), area, home
