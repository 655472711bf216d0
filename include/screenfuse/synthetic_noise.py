"""Noisy renderings for synthetic feeds, vectorized: what `synthetic._Generator` does value by value
(homophones, traditional characters, IDs mistyped or through Excel, phones written five ways,
addresses in five forms), at the same rates (`synthetic.DEFAULT_NOISE`), over whole columns, so a
district day of a million rows is rendered in seconds. Per-value Python runs only on the few
values a noise hits.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from screenfuse.synthetic import DEFAULT_NOISE, HOMOPHONES, _s2t
from screenfuse.synthetic_documents import labels, noisy_document

TIME_FORMATS = ("iso", "slash", "chinese")
TUBE_EXCEL, TUBE_MISSING = 0.0005, 0.0002


def time_text(moments: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    """Times as units type them: 2020-05-15 08:30:05, 2020/5/15 8:30, 2020年5月15日 08:30."""
    out = np.empty(len(moments), dtype=object)
    for code, kind in enumerate(TIME_FORMATS):
        at = np.flatnonzero(fmt == code)
        if not len(at):
            continue
        distinct, back = np.unique(moments[at], return_inverse=True)  # a day has few distinct minutes
        part = pd.DatetimeIndex(distinct)
        y, mo, d, h, mi, se = (np.asarray(v).astype(str).astype(object) for v in
                               (part.year, part.month, part.day, part.hour, part.minute, part.second))
        z = lambda v: np.char.zfill(v.astype(str), 2).astype(object)  # noqa: E731
        text = (y + "-" + z(mo) + "-" + z(d) + " " + z(h) + ":" + z(mi) + ":" + z(se) if kind == "iso" else
                y + "/" + mo + "/" + d + " " + h + ":" + z(mi) if kind == "slash" else
                y + "年" + mo + "月" + d + "日 " + z(h) + ":" + z(mi))
        out[at] = text[back.ravel()]
    return out


def noisy_names(names: np.ndarray, rng) -> np.ndarray:
    """Homophones, traditional characters, stray spaces (at synthetic.DEFAULT_NOISE's rates)."""
    names = names.copy()
    for i in np.flatnonzero(rng.random(len(names)) < DEFAULT_NOISE.name_homophone):
        name = names[i]
        spots = [j for j, ch in enumerate(name) if ch in HOMOPHONES]
        if spots:
            j = spots[int(rng.integers(len(spots)))]
            names[i] = name[:j] + HOMOPHONES[name[j]][int(rng.integers(len(HOMOPHONES[name[j]])))] + name[j + 1:]
    old = np.flatnonzero(rng.random(len(names)) < DEFAULT_NOISE.name_traditional)
    if len(old):
        names[old] = _s2t().convert("\n".join(names[old])).split("\n")
    spaced = np.flatnonzero(rng.random(len(names)) < DEFAULT_NOISE.name_spaces)
    form = rng.integers(0, 4, len(spaced))
    names[spaced] = [(f"{v[0]} {v[1:]}", f" {v}", f"{v} ", " ".join(v))[k] for v, k in zip(names[spaced], form)]
    return names


def noisy_ids(plan: pd.DataFrame, typed: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """ID numbers as typed (missing, 15-digit, a digit wrong or swapped, x, full-width, spaced,
    through Excel), and the document type where the form asks for it (a few passports)."""
    noise, n = DEFAULT_NOISE, len(plan)
    ids = plan["id_number"].to_numpy(dtype=object).copy()
    # a passport or permit (synthetic_documents) is not typed like a resident ID
    resident = plan["id_type"].eq("resident_id").to_numpy() if "id_type" in plan else np.ones(n, dtype=bool)
    held = ids[~resident].copy()
    ids[~resident] = make_id_like(plan["birth_date"].to_numpy(dtype=object)[~resident])
    old = (plan["birth_date"].str[:4].to_numpy() < "2000") & (rng.random(n) < noise.id_old15)
    ids[old] = [v[:6] + v[8:17] for v in ids[old]]
    for i in np.flatnonzero(~old & (rng.random(n) < noise.id_substitution)):
        j = int(rng.integers(0, 17))
        ids[i] = ids[i][:j] + str((int(ids[i][j]) + int(rng.integers(1, 10))) % 10) + ids[i][j + 1:]
    for i in np.flatnonzero(~old & (rng.random(n) < noise.id_swap)):
        j = int(rng.integers(6, 16))
        ids[i] = ids[i][:j] + ids[i][j + 1] + ids[i][j] + ids[i][j + 2:]
    lower = np.flatnonzero((rng.random(n) < 0.5) & pd.Series(ids, dtype=object).str.endswith("X").to_numpy())
    ids[lower] = [v[:-1] + "x" for v in ids[lower]]
    wide = rng.random(n) < noise.id_fullwidth
    ids[wide] = [v.translate({c: c + 0xFEE0 for c in range(48, 58)}) for v in ids[wide]]
    spaced = ~wide & (rng.random(n) < 0.02)
    ids[spaced] = [f"{v[:6]} {v[6:14]} {v[14:]}" for v in ids[spaced]]
    excel = ~wide & ~spaced & ~old & (rng.random(n) < noise.id_excel)
    ids[excel] = [f"{float(v[:17] + '0'):.5E}" for v in ids[excel]]
    ids[~resident] = [noisy_document(v, 0.0, rng) for v in held]
    kind = np.where(typed, "居民身份证", "").astype(object)
    kind[typed & ~resident] = labels(plan["id_type"].to_numpy(dtype=object)[typed & ~resident])
    passport = typed & (rng.random(n) < 0.003)
    ids[passport] = [f"E{v:08d}" for v in rng.integers(0, 10**8, passport.sum())]  # none drawn: no error
    kind[passport] = "护照"
    missing = rng.random(n) < 0.03  # a registration mostly takes the ID: fewer gaps than checkpoints
    ids[missing], kind[missing] = "", ""
    return ids, kind


def noisy_phones(numbers: np.ndarray, rng) -> np.ndarray:
    """Missing, a digit wrong, +86/0086, dashes, a second number in the same cell."""
    noise, n = DEFAULT_NOISE, len(numbers)
    out = numbers.copy()
    for i in np.flatnonzero(rng.random(n) < noise.phone_typo):
        j = int(rng.integers(3, 11))
        out[i] = out[i][:j] + str((int(out[i][j]) + 1) % 10) + out[i][j + 1:]
    plus = rng.random(n) < noise.phone_plus86
    out[plus] = np.array(["+86", "+86 ", "0086"], dtype=object)[rng.integers(0, 3, plus.sum())] + out[plus]
    dashes = ~plus & (rng.random(n) < noise.phone_dashes)
    out[dashes] = [f"{v[:3]}-{v[3:7]}-{v[7:]}" for v in out[dashes]]
    second = rng.random(n) < noise.phone_second
    out[second] = (out[second] + np.array(["/", "、", " ", ";"], dtype=object)[rng.integers(0, 4, second.sum())]
                   + phones(int(second.sum()), rng))
    out[rng.random(n) < noise.phone_missing] = ""
    return out


def addresses(plan: pd.DataFrame, rng) -> np.ndarray:
    """The five ways the other feeds write an address, and a few that route nowhere."""
    c = {k: plan[k].astype(str).to_numpy(dtype=object) for k in
         ("street", "community", "road", "number", "building", "unit_no", "room")}
    form = rng.integers(0, 5, len(plan))
    out = np.empty(len(plan), dtype=object)
    for k, build in enumerate([
        lambda m: "武汉市武昌区" + c["street"][m] + c["community"][m] + c["building"][m] + "栋" + c["unit_no"][m] + "单元" + c["room"][m] + "室",
        lambda m: c["community"][m] + c["building"][m] + "-" + c["unit_no"][m] + "-" + c["room"][m],
        lambda m: c["road"][m] + c["number"][m] + "号" + c["community"][m] + c["building"][m] + "号楼" + c["room"][m],
        lambda m: "湖北省武汉市武昌区" + c["road"][m] + c["number"][m] + "号",
        lambda m: "武昌区" + c["community"][m] + " " + c["building"][m] + "栋" + c["room"][m] + "室",
    ]):
        mask = form == k
        out[mask] = build(mask)
    lost = rng.random(len(plan)) < DEFAULT_NOISE.unroutable_address
    out[lost] = np.array(["武昌区", "汉口江汉路附近", "武汉市", "不详"], dtype=object)[rng.integers(0, 4, lost.sum())]
    return out


def noisy_tubes(tubes: np.ndarray, rng) -> np.ndarray:
    """A few tube numbers went through Excel (2.00515E+13: digits lost) or were left out."""
    out = tubes.copy()
    excel = rng.random(len(out)) < TUBE_EXCEL
    out[excel] = [f"{float(v):.5E}" for v in out[excel]]
    out[rng.random(len(out)) < TUBE_MISSING] = ""
    return out


def phones(n: int, rng) -> np.ndarray:
    """Random mobile numbers (1[3-9] and nine digits)."""
    if n == 0:  # numpy's zfill cannot take an empty array
        return np.empty(0, dtype=object)
    return ("1" + np.array(list("3456789"), dtype=object)[rng.integers(0, 7, n)]
            + np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9).astype(object))


def csv_bytes(frame: pd.DataFrame, encoding: str = "utf-8") -> bytes:
    """CSV text written by pyarrow's C++ writer (pandas' to_csv is the slowest step at this size),
    unquoted like Excel writes it (quoted throughout if a value needs quotes); utf-8-sig adds the
    BOM, gb18030 is GBK for these texts."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(frame.astype(str), preserve_index=False)
    plain = not any(set(str(c)) & set(',"\n') for c in frame.columns)
    for quoting in ("none", "needed"):  # "none" refuses a value with a comma, quote or line break
        sink = pa.BufferOutputStream()
        try:
            pa_csv.write_csv(table, sink, pa_csv.WriteOptions(quoting_style=quoting, include_header=not plain))
            break
        except pa.ArrowInvalid:
            continue
    data = (",".join(map(str, frame.columns)) + "\n").encode("utf-8") if plain else b""
    data += sink.getvalue().to_pybytes()
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + data
    return data if encoding == "utf-8" else data.decode("utf-8").encode(encoding)


def make_id_like(births: np.ndarray) -> np.ndarray:
    """Placeholder resident IDs (a valid form) for rows whose real document is not one: the
    resident noise is drawn for every row alike, then these are replaced by the document."""
    return np.array(["420106" + str(b).replace("-", "")[:8].ljust(8, "0") + "0000" for b in births], dtype=object)
