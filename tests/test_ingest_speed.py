"""The fast paths of ingest give exactly what the plain per-value code gave."""
import json

import pandas as pd

from screenfuse import normalize as nz
from screenfuse.row_fields import json_rows as _json_rows


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


def test_files_normalized_together_come_out_as_each_file_alone(tmp_path):
    """normalize_files runs files of one layout through the normalizers together; every row must
    come out as its file alone gives it (ids, row numbers with a blank row skipped, raw rows),
    whatever the layouts, and a held (schema drift) or header-only file stays as it was."""
    from conftest import make_id
    from screenfuse.contracts import load_contract
    from screenfuse.gazetteer import load_gazetteer
    from screenfuse.ingest import normalize_files, read_file, stage_file

    contract, gazetteer = load_contract("checkpoint"), load_gazetteer()
    header = ["卡点名称", "检测时间", "姓名", "身份证号", "联系电话", "目的地", "体温", "处置措施"]
    rows = [["南湖收费站", "2020-02-10 08:00", "张伟", make_id("42010619800101123"), "13812345678", "积玉桥一路1号", "36.6", "放行"],
            ["", "", "", "", "", "", "", ""],  # a blank row: skipped, the row numbers keep counting
            ["南湖收费站", "2020年2月10日9时30分", "張偉", "4201061980010112", "+86 139-8765-4321", "不详", "37.8℃", "转运发热门诊"]]
    files = [(header, rows), (header, rows[::-1]), (header[:-1], [r[:-1] for r in rows]),  # another layout
             (header, []), (["姓名"], [["张伟"]])]  # header only (zero report); required columns missing
    paths = []
    for number, (columns, body) in enumerate(files):
        paths.append(tmp_path / f"卡点{number}.csv")
        paths[-1].write_bytes(pd.DataFrame(body, columns=columns).to_csv(index=False).encode("utf-8"))
    alone = [stage_file(p, contract, gazetteer) for p in paths]
    together = [read_file(p, contract) for p in paths]
    normalize_files(together, contract, gazetteer)
    assert [s.status for s in together] == ["staged", "staged", "staged", "zero_report", "held"]  # schema drift
    for one, other in zip(alone, together):
        assert (one.status, one.reason, one.rows_read, one.blank_rows) == (other.status, other.reason, other.rows_read,
                                                                          other.blank_rows)
        pd.testing.assert_frame_equal(one.records, other.records)
    assert together[0].records["row_number"].tolist() == [1, 3]


def test_files_read_across_workers_come_out_as_each_file_alone(tmp_path):
    """read_files cuts a large delivery into runs of files read in forked workers; every file,
    whichever run took it, must come back under its own SHA-256 as it does alone, the odd ones
    (zero report, schema drift, unreadable bytes) too."""
    from conftest import make_id
    from screenfuse.contracts import load_contract
    from screenfuse.gazetteer import load_gazetteer
    from screenfuse.ingest import sha256_of, stage_file
    from screenfuse.ingest_files import read_files
    from screenfuse.xlsx import write_xlsx

    contract, gazetteer = load_contract("checkpoint"), load_gazetteer()
    header = ["卡点名称", "检测时间", "姓名", "身份证号", "联系电话", "目的地", "体温", "处置措施"]
    paths = []
    for number in range(9):
        rows = [["南湖收费站", f"2020-02-{10 + number % 5} 08:0{number}", ["张伟", "張偉", "李娜"][number % 3],
                 make_id(f"4201061980010{number:03d}1"), f"1381234{number:04d}", f"积玉桥一路{number}号", "36.6", "放行"]
                for _ in range(number + 1)]
        columns = header if number % 4 else header[:-1]  # two layouts
        rows = [row[:len(columns)] for row in rows]
        path = tmp_path / f"卡点{number}.{'xlsx' if number == 4 else 'csv'}"
        frame = pd.DataFrame(rows, columns=columns) if number != 6 else pd.DataFrame(columns=columns)  # zero report
        if number == 4:
            write_xlsx(frame, path)
        else:
            path.write_bytes(frame.to_csv(index=False).encode("utf-8"))
        paths.append(path)
    paths.append(tmp_path / "卡点_drift.csv")
    paths[-1].write_bytes("姓名\n张伟\n".encode("utf-8"))  # required columns missing: held
    paths.append(tmp_path / "卡点_bytes.csv")
    paths[-1].write_bytes(b"\x00\xff\xfe\x00garbage")
    shas = [sha256_of(p) for p in paths]
    alone = {sha: stage_file(p, contract, gazetteer) for p, sha in zip(paths, shas)}
    gone = tmp_path / "卡点_gone.csv"  # listed, then gone before it was read: left out, the rest read
    for workers in (1, 2, 3):
        got = read_files([*paths[:5], gone, *paths[5:]], [*shas[:5], "0" * 64, *shas[5:]], contract, gazetteer,
                         workers=workers, parallel_from_bytes=0)
        assert list(got) == shas
        for sha, one in alone.items():
            other = got[sha]
            fields = ("file_name", "status", "reason", "rows_read", "blank_rows", "file_format", "encoding",
                      "unmapped_headers")
            assert [getattr(one, f) for f in fields] == [getattr(other, f) for f in fields]
            pd.testing.assert_frame_equal(one.records, other.records)
    assert {s.status for s in alone.values()} >= {"staged", "zero_report", "held", "quarantined"}
