"""Synthetic identity documents of people without a resident ID: passports, 港澳居民来往内地通行证,
台湾居民来往大陆通行证 and 外国人永久居留身份证 (both forms), for a small share of the population (about
one key-area arrival in seventeen, one other person in 250: about 2 % of arrival records), written
with the noise units add (lower case, spaces, full-width, left out). The truth keeps each
person's document (truth/people.csv: id_type, id_number)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from screenfuse.documents import DOCUMENT_TYPES, RESIDENT

ARRIVAL_SHARE, OTHER_SHARE = 0.06, 0.004
KINDS = {"passport": 0.45, "hk_macau_permit": 0.20, "taiwan_permit": 0.15, "foreign_pr_card": 0.20}
LOWER, SPACED, FULL_WIDTH = 0.10, 0.03, 0.03
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def assign_documents(pop: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The population with `id_type`: most keep their resident ID; a few hold another document,
    which replaces `id_number` (drawn from the seed alone: the same people every day)."""
    rng = np.random.default_rng([seed, 8686])
    share = np.where(pop["true_status"].eq("key_area_arrival"), ARRIVAL_SHARE, OTHER_SHARE)
    holder = rng.random(len(pop)) < share
    kinds = rng.choice(list(KINDS), size=int(holder.sum()), p=list(KINDS.values()))
    out = pop.assign(id_type=RESIDENT)
    out.loc[holder, "id_type"] = kinds
    out.loc[holder, "id_number"] = [number(kind, rng) for kind in kinds]
    return out


def number(kind: str, rng) -> str:
    digits = lambda n: "".join(str(d) for d in rng.integers(0, 10, n))  # noqa: E731
    letters = lambda n: "".join(chr(65 + int(c)) for c in rng.integers(0, 26, n))  # noqa: E731
    if kind == "passport":  # a Chinese passport (E + 8 digits) or a foreign one (2 letters + 7 digits)
        return "E" + digits(8) if rng.random() < 0.4 else letters(2) + digits(7)
    if kind == "hk_macau_permit":
        return ("H" if rng.random() < 0.8 else "M") + digits(8)
    if kind == "taiwan_permit":
        return digits(8)
    if rng.random() < 0.5:  # foreign permanent residence card: the 2004 form, or the 2023 one
        return letters(3) + digits(12)
    first17 = "9" + digits(5) + f"{int(rng.integers(1950, 2005))}{int(rng.integers(1, 13)):02d}" \
        f"{int(rng.integers(1, 29)):02d}" + digits(3)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def noisy_document(value: str, missing: float, rng) -> str:
    """A document number as a unit types it: left out, lower case, spaced, or full-width."""
    if rng.random() < missing:
        return ""
    if rng.random() < LOWER:
        value = value.lower()
    if rng.random() < SPACED:
        value = f"{value[:3]} {value[3:]}"
    elif rng.random() < FULL_WIDTH:
        value = value.translate({c: c + 0xFEE0 for c in range(33, 127)})
    return value


def labels(id_types: np.ndarray) -> np.ndarray:
    """证件类型 as a form shows it."""
    return np.array([DOCUMENT_TYPES.get(t, "") for t in id_types], dtype=object)
