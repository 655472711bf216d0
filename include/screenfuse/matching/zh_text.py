"""Chinese text knowledge the zh_name and address comparators need, kept in the library (matching
must never import the app; the app imports these).

- (characters a handwritten form confuses by shape are in zh_shapes)
- DEFAULT_SOUND_FOLDS: dialect sound confusions (Wuhan n/l, f/h(u), flat and retroflex z/zh c/ch s/sh,
  front and back nasals en/eng in/ing), applied to toneless joined pinyin by `sound_key`; the
  zh_name comparator's `sound_folds` option replaces the table.
- PINYIN_SYLLABLES: Mandarin's toneless syllables, for `syllables`, which splits a name's joined
  pinyin into one syllable per character (the sibling rule compares names character by character).
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

COMMUNITY_SUFFIXES = ("社区", "小区", "花园", "家园", "新村", "公寓", "大厦", "村")

# (heard, written): the left sound is folded into the right one on both sides of a pair.
# A sound that starts with a consonant is an initial, one that starts with a vowel a final. f/h:
# Wuhan says fu for hu and fang for huang, so f and hu before a vowel both fold to h.
DEFAULT_SOUND_FOLDS = (("n", "l"), ("f", "h"), ("hu", "h"), ("zh", "z"), ("ch", "c"), ("sh", "s"), ("eng", "en"),
                       ("ing", "in"))
_VOWEL = "aeiouv"


def _fold_patterns(folds: tuple[tuple[str, str], ...]) -> list[tuple[re.Pattern, str]]:
    """One (pattern, replacement) per fold: an initial only where a syllable starts (after the
    start, a vowel or a final n/ng/r, before a vowel), a final only where a syllable ends."""
    patterns = []
    for heard, written in folds:
        if heard[0] not in _VOWEL:
            pattern = rf"(?m)(?:^|(?<=[{_VOWEL}gnr])){re.escape(heard)}(?=[{_VOWEL}])"
        else:
            pattern = rf"{re.escape(heard)}(?![{_VOWEL}])"
        patterns.append((re.compile(pattern), written))
    return patterns


def sound_key(pinyin: str, folds: tuple[tuple[str, str], ...] = DEFAULT_SOUND_FOLDS) -> str:
    """Toneless joined pinyin with the table's confusable sounds folded together (刘 liu and 牛 niu
    both give 'liu'; 兰 lan and 南 nan give 'lan'). A '·' or a space is dropped."""
    return sound_keys([pinyin], folds)[0]


def sound_keys(values, folds: tuple[tuple[str, str], ...] = DEFAULT_SOUND_FOLDS) -> list[str]:
    """sound_key of many values at once: one regular-expression pass per fold over all of them."""
    text = "\n".join(values).replace("·", "").replace(" ", "")
    for pattern, written in _compiled(tuple(tuple(f) for f in folds)):
        text = pattern.sub(written, text)
    return text.split("\n") if len(values) else []


_PATTERNS: dict = {}


def _compiled(folds: tuple[tuple[str, str], ...]):
    if folds not in _PATTERNS:
        _PATTERNS[folds] = _fold_patterns(folds)
    return _PATTERNS[folds]


# the toneless syllables of Mandarin as the app's pinyin writes them (ü as v: lv, nve), for splitting
# a name's joined pinyin into one syllable per character
PINYIN_SYLLABLES = frozenset("""
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo bong bu ca
    cai can cang cao ce cei cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua
    chuai chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den
    deng di dia dian diao die din ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang
    fei fen feng fiao fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang
    gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji
    jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng
    kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei len leng li lia lian
    liang liao lie lin ling liu lo long lou lu luan lun luo lv lve ma mai man mang mao me mei men
    meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen neng ni nia nian
    niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan pang pao pei pen
    peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan
    que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen
    seng sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun
    shuo si song sou su suan sui sun suo ta tai tan tang tao te tei teng ti tian tiao tie ting tong
    tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wong wu xi xia xian xiang xiao xie xin
    xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai
    zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu
    zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo
""".split())


@lru_cache(maxsize=1 << 16)
def syllables(pinyin: str, count: int) -> tuple[str, ...] | None:
    """Joined toneless pinyin split into exactly `count` syllables (zhangziyu, 3 → zhang zi yu);
    None when it cannot be (a character without pinyin, a name in Latin letters)."""
    text = pinyin.replace(" ", "").replace("·", "")

    @lru_cache(maxsize=None)
    def split(at: int, left: int) -> tuple[str, ...] | None:
        if left == 0:
            return () if at == len(text) else None
        for size in range(min(6, len(text) - at), 0, -1):  # the longest syllable first: xian, not xi an
            syllable = text[at:at + size]
            # after the first, a syllable never starts with a, e or o (pinyin writes xi'an): wang li na,
            # not wang lin a; wan gang, not wang ang
            if syllable in PINYIN_SYLLABLES and (at == 0 or syllable[0] not in "aeo") \
                    and (rest := split(at + size, left - 1)) is not None:
                return (syllable, *rest)
        return None

    return split(0, count)


def without_dots(name: str) -> str:
    """A name with its middle dots dropped (买买提·艾力 = 买买提艾力: forms drop the dot)."""
    return name.replace("·", "")


def is_community(areas: np.ndarray, suffixes: tuple[str, ...] = COMMUNITY_SUFFIXES) -> np.ndarray:
    """Whether an address area is a community (社区, 小区, …) rather than a road."""
    return np.logical_or.reduce([np.strings.endswith(areas, s) for s in suffixes])
