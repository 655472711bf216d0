"""Characters a handwritten form confuses by shape (己/已, 未/末, 住/往, 輪/輸), for the zh_name
comparator. Two sources, either one enough:

- SHAPE_GROUPS: groups curated by hand for characters common in names, kept whatever the codes
  say (土/士, 刀/力, 干/千/于 share no code that tells it);
- shape codes from the Unicode Han Database (data/unihan_shapes.tsv, 16,256 characters, built by
  tools/build_shape_table.py): two characters look alike when they share a four-corner code (the
  shape of their four corners, the method Collender et al. 2020 use for Chinese names), their
  Cangjie codes (the components they are written with) differ by at most one letter, and their
  stroke counts by at most one. A four-corner code alone is too coarse (工/三/五/王/正 share 1010);
  the Cangjie and stroke checks keep the pairs a hand could really write for each other.

`shape_code` gives every name a key that two look-alike names share (a vectorized first pass);
`names_look_alike` confirms a pair character by character.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from rapidfuzz.distance import OSA

# Each string is one group of characters handwriting makes look alike; the first is the key.
SHAPE_GROUPS = (
    "己已巳", "未末", "王玉主", "土士", "日曰", "戊戌戍戎", "天夭", "人入", "刀力", "干千于",
    "大太犬", "木本术", "白自", "田由甲申", "贝见", "今令", "仑仓", "鸟乌", "免兔", "候侯",
    "析折", "晴睛", "苟荀", "崇祟", "壁璧", "辨辩辫", "茶荼", "汩汨", "杨扬", "汤场",
    "玲铃", "琳淋", "佳桂", "冶治", "拔拨", "侍待", "妹姝", "栋拣", "晓哓", "宇字",
)
_GROUP = {ch: group[0] for group in SHAPE_GROUPS for ch in group}
_HAND = {ord(ch): group[0] for group in SHAPE_GROUPS for ch in group[1:]}


def shape_key(name: str) -> str:
    """The name with every character of a hand-made group replaced by the group's key character."""
    return name.translate(_HAND)


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[frozenset[str], str, int]]:
    """Per character: its four-corner codes, Cangjie code and stroke count."""
    text = resources.files("screenfuse.matching").joinpath("data/unihan_shapes.tsv").read_text("utf-8")
    table = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            char, corners, cangjie, strokes = line.split("\t")
            table[char] = (frozenset(corners.split(",")), cangjie, int(strokes))
    return table


@lru_cache(maxsize=1)
def _key_table() -> dict[int, str]:
    """str.translate table: each character → '\x01' + the number of its key class. A class joins
    every character sharing any four-corner code (a character with two codes joins both), and the
    members of each hand-made group, so that any two look-alike characters share a key."""
    table = _table()
    parent: dict[str, str] = {}

    def root(item: str) -> str:
        while parent.get(item, item) != item:
            parent[item] = parent.get(parent[item], parent[item])
            item = parent[item]
        return item

    def join(a: str, b: str) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for ch, (corners, _, _) in table.items():
        for code in corners:
            join("#" + code, ch)
    for group in SHAPE_GROUPS:
        for ch in group[1:]:
            join(group[0], ch)
    classes: dict[str, str] = {}
    return {ord(ch): "\x01" + classes.setdefault(root(ch), str(len(classes)))
            for ch in sorted(set(table) | set(_GROUP))}


def shape_code(text: str) -> str:
    """`text` with every character replaced by its shape key: look-alike names get equal keys (and
    some names that only share codes: `names_look_alike` tells them apart). Newlines are kept, so
    many names joined by newlines are keyed in one pass."""
    return text.translate(_key_table())


@lru_cache(maxsize=1 << 16)
def look_alike(a: str, b: str) -> bool:
    """Whether handwriting could turn character `a` into `b`: the same, in one hand-made group, or
    a four-corner code shared with Cangjie codes one letter apart and strokes one apart."""
    if a == b or (a in _GROUP and _GROUP.get(b) == _GROUP[a]):
        return True
    table = _table()
    if a not in table or b not in table:
        return False
    (corners_a, cangjie_a, strokes_a), (corners_b, cangjie_b, strokes_b) = table[a], table[b]
    return bool(corners_a & corners_b) and abs(strokes_a - strokes_b) <= 1 and OSA.distance(cangjie_a, cangjie_b) <= 1


def names_look_alike(x: str, y: str) -> bool:
    """Whether two names of one length differ only in look-alike characters."""
    return len(x) == len(y) and all(look_alike(a, b) for a, b in zip(x, y))
