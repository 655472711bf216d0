"""The fast paths of ingest give exactly what the plain per-value code gave."""
import json

import pandas as pd

from screenfuse import normalize as nz
from screenfuse.ingest import _json_rows


def _plain_json(frame):
    return [json.dumps(dict(zip(frame.columns, row)), ensure_ascii=False) for row in frame.astype(str).to_numpy()]


def test_json_rows_match_json_dumps():
    frames = [
        pd.DataFrame({"姓名": ['a"b\\c\n\t\x01中', "é", "\u2028"], "b": ["", "1", "x y"]}),
        pd.DataFrame(index=[0, 1]),  # no columns: empty objects
        pd.DataFrame({"a": []}),
        pd.DataFrame([["1", "2"]], columns=["a", "a"]),  # duplicate headers fold as a dict does
    ]
    for frame in frames:
        assert _json_rows(frame) == (_plain_json(frame) if len(frame) else [])


def test_per_value_and_batched_match_one_call_per_column():
    a = pd.Series(["\uff21 b\u3000 c ", "x", "\uff21 b\u3000 c ", None], index=[5, 6, 7, 8], name="a")
    b = pd.Series(["  y\t\tz", ""], index=[1, 2], name="b")
    for got, column in zip(nz.clean_texts([a, b]), [a, b]):
        pd.testing.assert_series_equal(got, column.fillna("").astype(str).str.translate(nz._FULL_TO_HALF)
                                       .str.replace(r"\s+", " ", regex=True).str.strip())
    codes = pd.Series(["ab 1", "2.00210001E+13", "ab 1"], name="c")
    pd.testing.assert_frame_equal(nz.batched(nz.normalize_codes, [codes])[0], nz.normalize_codes(codes))
