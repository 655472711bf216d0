"""Medicine categories (药品类别) as pharmacies write them, read into the five the policy knows.

Pharmacies register buyers of fever, cough and cold medicine by real name (seed 000 l.41); each
till writes the category its own way (退烧药, 退热类, 解热镇痛, 咳嗽药, 镇咳, 感冒类, 抗菌素 ...) or leaves
it empty and names the medicine. The policy's rules (`medicine_category_in`) compare the canonical
category, so a variant must not slip past the rule for 退烧: this module maps the variants, and an
empty category from the medicine's name when it is a common one. What stays outside the five is
left as written, for the contract's `allowed` to quarantine with the reason.
"""
from __future__ import annotations

import re

import pandas as pd

from screenfuse.normalize import clean_text, on_distinct

CATEGORIES = ("退烧", "止咳", "感冒", "抗病毒", "抗生素")
# variants → category, compared after the suffixes 药/类/药品/药物 are taken off
VARIANTS = {
    "退烧": "退烧", "退热": "退烧", "解热": "退烧", "解热镇痛": "退烧", "发烧": "退烧", "发热": "退烧", "退烧止痛": "退烧",
    "止咳": "止咳", "咳嗽": "止咳", "镇咳": "止咳", "止咳化痰": "止咳", "化痰止咳": "止咳", "止咳平喘": "止咳",
    "感冒": "感冒", "抗感冒": "感冒", "伤风感冒": "感冒", "清热解毒": "感冒",
    "抗病毒": "抗病毒", "抗流感": "抗病毒",
    "抗生素": "抗生素", "抗菌": "抗生素", "抗菌素": "抗生素", "消炎": "抗生素", "抗感染": "抗生素",
}
# common medicines → category, for a row whose category is empty (the name contains the key)
MEDICINES = {
    "布洛芬": "退烧", "对乙酰氨基酚": "退烧", "扑热息痛": "退烧", "安乃近": "退烧", "阿司匹林": "退烧", "退热贴": "退烧",
    "复方甘草": "止咳", "急支糖浆": "止咳", "川贝枇杷": "止咳", "右美沙芬": "止咳", "氨溴索": "止咳", "蛇胆川贝": "止咳",
    "连花清瘟": "感冒", "感冒灵": "感冒", "板蓝根": "感冒", "氨酚烷胺": "感冒", "酚麻美敏": "感冒", "双黄连": "感冒",
    "奥司他韦": "抗病毒", "利巴韦林": "抗病毒", "阿比多尔": "抗病毒",
    "阿莫西林": "抗生素", "头孢": "抗生素", "阿奇霉素": "抗生素", "左氧氟沙星": "抗生素", "罗红霉素": "抗生素",
}
_SUFFIX = re.compile(r"(?:药品|药物|药|类|制剂)+$")
_SPACES = re.compile(r"[\s()（）/、,，]+")


def _category(text: str) -> str:
    key = _SUFFIX.sub("", _SPACES.sub("", text))
    return VARIANTS.get(key, text)


def _from_medicine(text: str) -> str:
    return next((category for name, category in MEDICINES.items() if name in text), "")


def normalize_categories(categories: pd.Series, medicines: pd.Series | None = None) -> pd.Series:
    """Each row's category, canonical when the text is a known variant (else as written, cleaned),
    or from `medicines` (the medicine's name) when the category is empty."""
    out = on_distinct(clean_text(categories), lambda distinct: distinct.map(_category))
    if medicines is None:
        return out
    empty = out == ""
    if empty.any():
        named = on_distinct(clean_text(medicines[empty]), lambda distinct: distinct.map(_from_medicine))
        out = out.copy()
        out[empty] = named
    return out
