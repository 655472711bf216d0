"""Hostile files for the checkpoint feed, each with the outcome it must have (tests/test_hostile_files.py).

A case: the file's name, its bytes, and what the run must make of it: the file's status
(loaded, quarantined, zero_report, duplicate), a piece of the file's reason, and the rows accepted
and quarantined, with a piece of each quarantined row's reason. All people are synthetic.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from conftest import make_id

ID1, ID2 = make_id("42010619800101123"), make_id("42010619900202234")
ENGLISH = ["checkpoint", "time", "name", "id_number", "phone", "address", "temperature", "action"]
HEADER = ["卡点名称", "检测时间", "姓名", "身份证号", "联系电话", "目的地", "体温", "处置措施"]
ROW1 = ["南湖收费站", "2020-02-10 08:00", "张伟", ID1, "13812345678", "积玉桥一路1号", "36.6", "放行"]
ROW2 = ["南湖收费站", "2020-02-10 09:30", "李娜", ID2, "13987654321", "和平大道100号", "36.8", "放行"]


@dataclass
class Case:
    name: str
    data: bytes
    status: str
    reason: str = ""  # a piece of the file's reason
    accepted: int = 0
    quarantined: list[str] = field(default_factory=list)  # a piece of each quarantined row's reason
    encoding: str = ""  # the encoding the reader must find ('' = not checked)


def csv_text(rows: list[list[str]], sep: str = ",", header: list[str] = HEADER) -> str:
    """CSV as a spreadsheet writes it: values holding the delimiter or a quote are quoted."""
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def row(**changes) -> list[str]:
    values = dict(zip(HEADER, ROW1)) | changes
    return [values[h] for h in HEADER]


def only_id(**changes) -> list[str]:
    """A row where only the ID says who it is (no phone, no address)."""
    return row(联系电话="", 目的地="", **changes)


def workbook(rows: list[list], title: str | None = None) -> bytes:
    """An .xlsx as a unit's clerk makes it: optionally a title line above the header; cells as
    given (an int or float is a number cell, as Excel keeps an ID typed into one)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    for line in [HEADER, *rows]:
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


TRADITIONAL = [row(姓名="陳建國", 目的地="積玉橋街道和平大道100號", 身份证号=make_id("42010619750505123"), 处置措施="放行"),
               row(姓名="歐陽娜", 目的地="中華路街道", 身份证号=make_id("42010619850606123"))]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)


def cases() -> list[Case]:
    base = csv_text([ROW1, ROW2])
    return [
        Case("utf8.csv", base.encode(), "loaded", accepted=2),
        Case("utf8 bom.csv", base.encode("utf-8-sig"), "loaded", accepted=2),
        Case("gbk.csv", csv_text([row(身份证号=make_id("42010619700303123"), 姓名="王秀英"), ROW2]).encode("gbk"),
             "loaded", accepted=2),
        Case("gb18030.csv", csv_text([row(姓名="刘䶮", 身份证号=make_id("42010619710303123"))]).encode("gb18030"),
             "loaded", accepted=1),
        Case("big5.csv", csv_text([[v.replace("卡点", "卡點").replace("收费站", "收費站") for v in r] for r in TRADITIONAL],
                                  header=ENGLISH).encode("big5"), "loaded", accepted=2),
        Case("utf16le.csv", csv_text([row(身份证号=make_id("42010619720303123"))], sep="\t").encode("utf-16"),
             "loaded", accepted=1),
        Case("utf16be.csv", b"\xfe\xff" + csv_text([row(身份证号=make_id("42010619730303123"))]).encode("utf-16-be"),
             "loaded", accepted=1),
        Case("semicolons.csv", csv_text([row(身份证号=make_id("42010619740303123"))], sep=";").encode(), "loaded",
             accepted=1),
        Case("a csv named.xlsx", csv_text([row(身份证号=make_id("42010619760303123"))]).encode(), "loaded", accepted=1),
        Case("image.csv", PNG, "quarantined", reason="PNG image"),
        Case("legacy.xlsx", OLE, "quarantined", reason="legacy Excel 97-2003"),
        Case("empty.csv", b"", "quarantined", reason="empty file"),
        Case("header only.csv", csv_text([]).encode(), "zero_report"),
        # another unit's zero report, the same bytes: a zero report of its own, not a duplicate
        Case("header only, another unit.csv", csv_text([]).encode(), "zero_report"),
        Case("unterminated quote.csv", (csv_text([ROW1]) + '南湖收费站,2020-02-10 10:00,"王五\n').encode(),
             "quarantined", reason="a quote is never closed"),
        Case("extra delimiter.csv", (csv_text([ROW1]) + ",".join(row(目的地="积玉桥,一路2号", 身份证号=ID2)) + "\n"
                                     + ",".join(ROW2[:6])).encode(),  # then a short row: padded, as pandas pads
             "loaded", accepted=2, quarantined=["row has 9 fields, the header 8"]),
        Case("extra delimiter first.csv", (csv_text([]) + ",".join(row(目的地="积玉桥,一路2号")) + "\n").encode(),
             "loaded", quarantined=["row has 9 fields, the header 8"]),
        Case("truncated last line.csv", (csv_text([ROW2]) + "南湖收费站,2020-02-10 11:00,赵六,4201061980").encode(),
             "loaded", accepted=1, quarantined=["id_number unusable"]),
        Case("missing column.csv", csv_text([ROW1[:2] + ROW1[3:]], header=HEADER[:2] + HEADER[3:]).encode(),
             "held", reason="schema drift: required column 'name'"),
        Case("renamed column.csv", csv_text([ROW1], header=[h.replace("姓名", "人员名字") for h in HEADER]).encode(),
             "held", reason="schema drift: required column 'name'"),
        Case("no header.csv", csv_text([ROW2], header=ROW1).encode(), "quarantined", reason="required column"),
        Case("duplicated column.csv", csv_text([ROW1 + ["张伟"]], header=HEADER + ["姓名"]).encode(), "loaded",
             accepted=1),
        Case("extra column.csv", csv_text([ROW1 + ["备注"]], header=HEADER + ["备注栏"]).encode(), "loaded",
             accepted=1),
        Case("nul and control.csv", csv_text([row(姓名="张\x00伟\x07", 身份证号=make_id("42010619770303123"))]).encode(),
             "loaded", accepted=1),
        Case("zero width.csv", csv_text([row(姓名="张\u200b伟", 身份证号="\u200b" + make_id("42010619780303123"))]).encode(),
             "loaded", accepted=1),
        Case("names.csv", csv_text([row(姓名="买买提·艾力", 身份证号=make_id("65010119800101123")),
                                    row(姓名="李娜😷", 身份证号=make_id("42010619790303123"))]).encode(), "loaded",
             accepted=2),
        Case("formula.csv", csv_text([row(目的地='=HYPERLINK("http://x.invalid","点")', 身份证号=make_id("42010619810303123")),
                                      row(姓名="+赵六", 身份证号=make_id("42010619820303123"))]).encode(), "loaded",
             accepted=2),
        Case("id forms.csv", csv_text([
            row(身份证号=make_id("42010619830303123").lower().replace("X", "x")),
            row(身份证号="".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in make_id("42010619840303123"))),
            row(身份证号="420106840404123"),  # 15 digits (first-generation card)
        ]).encode(), "loaded", accepted=3),
        Case("bad ids.csv", csv_text([
            only_id(身份证号=make_id("42010619850303123")[:17] + "0"),  # wrong check digit: kept, not trusted
            only_id(身份证号=make_id("42010619801340123")),  # month 13: kept, not trusted
            only_id(身份证号="4.20106E+17"),  # Excel turned it into a number: its digits are lost
        ]).encode(), "loaded", accepted=2, quarantined=["id_number unusable"]),
        Case("temperatures.csv", csv_text([row(体温="365", 身份证号=make_id("42010619860303123")),  # not guessed
                                           row(体温="3.65", 身份证号=make_id("42010619870303123")),
                                           row(体温="正常", 身份证号=make_id("42010619880303123")),  # no fever
                                           row(体温="发热", 身份证号=make_id("42010619930303123"))]).encode(),
             "loaded", accepted=1, quarantined=["temperature not a number", "temperature outside", "temperature outside"]),
        Case("dates.csv", csv_text([row(检测时间="2020-02-30 08:00", 身份证号=make_id("42010619900303123")),
                                    row(检测时间="2030-01-01 08:00", 身份证号=make_id("42010619890303123")),
                                    row(检测时间="2020-02-11 20:00", 身份证号=make_id("42010619920303123"))]).encode(),
             "loaded", accepted=1, quarantined=["event_time missing", "event_time more than a day after"]),
        # one time written with dots beside plain ones used to stop the whole run (pandas read 14-05 as
        # a zone and refused the column); a day and month before the year are read only when one
        # reading is a date; 度, a note, a Chinese full stop and 未测 are how forms write temperatures
        Case("times and temperatures as forms write them.csv", csv_text([
            row(检测时间="2020.2.10 10.05", 体温="37.3度", 身份证号=make_id("42010620030303123")),
            row(检测时间="2020-02-10 08:30", 体温="36.5（腋温）", 身份证号=make_id("42010620040303123")),
            row(检测时间="2020-02-10 09:00", 体温="未测", 身份证号=make_id("42010620050303123")),
            row(检测时间="2020-02-10 14-05", 体温="36。8", 身份证号=make_id("42010620060303123")),
            row(检测时间="10/2/2020 08:00", 身份证号=make_id("42010620070303123")),
        ]).encode(), "loaded", accepted=3, quarantined=["event_time missing", "event_time missing"]),
        Case("huge cell.csv", csv_text([row(目的地="积" * 200_000, 身份证号=make_id("42010619910303123"))]).encode(),
             "loaded", accepted=1),  # stored whole, on PostgreSQL too
        Case("title line.csv", ("武昌区道口卡点登记表\n" + csv_text([row(身份证号=make_id("42010619940303123"))])).encode(),
             "loaded", accepted=1),
        Case("title lines padded.csv", ("武昌区道口卡点登记表,,,,,,,\n填报单位：南湖收费站,,,,,,,\n"
                                        + csv_text([row(身份证号=make_id("42010619950303123"))])).encode("gbk"),
             "loaded", accepted=1),
        Case("title line.xlsx", workbook([row(身份证号=make_id("42010619960303123")),
                                          only_id(身份证号=float(make_id("42010619970303123")[:17] + "0")),  # a number cell
                                          row(身份证号=make_id("42010619980303123"), 目的地="=HYPERLINK(\"http://x.invalid\")")],
                                         title="武昌区道口卡点登记表（2月10日）"),
             "loaded", accepted=2, quarantined=["id_number unusable"]),
        Case("ragged then unclosed quote.csv", (csv_text([ROW1]) + ",".join(row(目的地="积玉桥,一路2号")) + "\n"
                                                + '南湖收费站,"2020-02-10 10:00,王五\n' + csv_text([ROW2] * 5, header=ROW2)).encode(),
             "quarantined", reason="a quote is never closed"),  # not the later rows folded into one cell
        Case("ragged huge cell.csv", (csv_text([row(目的地="积" * 200_000, 身份证号=make_id("42010619990303123"))])
                                      + ",".join(row(目的地="积玉桥,一路2号")) + "\n").encode(),
             "loaded", accepted=1, quarantined=["row has 9 fields"]),
        Case("semicolons quoted header.csv", csv_text([row(身份证号=make_id("42010620000303123")) + ["无"]],
                                                     sep=";", header=HEADER + ["备注(如有,请填)"]).encode(),
             "loaded", accepted=1),
        Case("gbk square metres.csv", csv_text([row(目的地="建设路100号3室㎡", 身份证号=make_id("42010620010303123"))]).encode("gbk"),
             "loaded", accepted=1, encoding="gb18030"),
        Case("卡点 '登记' (1)😷#%&;$.csv", csv_text([row(身份证号=make_id("42010620020303123"))]).encode(), "loaded",
             accepted=1),  # a file name with spaces, quotes, an emoji and shell characters
        Case("utf8~copy with another name.csv", base.encode(), "duplicate", reason="same content"),
        # optional dates a form cannot say: the rows kept, the fields named (v_unreadable_values)
        Case("unreadable dates.csv", csv_text([row(身份证号=make_id("42010620030303123")) + ["2020-02-30", "2020-02-20"],
                                               row(身份证号=make_id("42010620040303123")) + ["不详", "12:30"]],
                                              header=HEADER + ["入境日期", "离开日期"]).encode(), "loaded", accepted=2),
        # a stray quote before one name and another after a later name: the rows between would fold
        # into one cell, silently and with the counts still adding up; the file is quarantined whole
        Case("stray quotes.csv", (csv_text([ROW1]) + ",".join(row(姓名='"王五', 身份证号=make_id("42010620050303123")))
                                  + "\n" + ",".join(row(身份证号=make_id("42010620060303123"))) + "\n"
                                  + ",".join(row(姓名='赵六"', 身份证号=make_id("42010620070303123"))) + "\n"
                                  + ",".join(ROW2) + "\n").encode(),
             "quarantined", reason="a stray quote character"),
        # the same in the very next row: one line swallowed, row 2's checkpoint and time with row 3's person
        Case("stray quotes next rows.csv", (csv_text([ROW1]) + ",".join(row(姓名='"王五', 身份证号=make_id("42010620120303123")))
                                            + "\n" + ",".join(row(姓名='赵六"', 身份证号=make_id("42010620130303123"))) + "\n"
                                            + ",".join(ROW2) + "\n").encode(),
             "quarantined", reason="a stray quote character"),
        # an address typed over two lines in one cell (Alt+Enter in Excel): a value, not folded rows,
        # even with a few commas in it
        Case("address over two lines.csv", csv_text([row(目的地="积玉桥一路1号\n3单元", 身份证号=make_id("42010620080303123")),
                                                    row(目的地="江岸区\n积玉桥街道,和平社区,2栋,3单元",
                                                        身份证号=make_id("42010620140303123")),
                                                    ROW2]).encode(), "loaded", accepted=3),
        # a trailing delimiter on some rows (an empty field past the header): nothing lost, nothing quarantined
        Case("trailing delimiter.csv", (csv_text([]) + ",".join(row(身份证号=make_id("42010620090303123"))) + ",\n"
                                        + ",".join(row(身份证号=make_id("42010620100303123"))) + "\n").encode(),
             "loaded", accepted=2),
        # zero-width spaces pasted from a web page, inside a name and after an ID: invisible, and gone
        Case("zero width inside values.csv", csv_text([row(姓名="张\u200b伟", 身份证号=make_id("42010620110303123") + "\u200b")]).encode(),
             "loaded", accepted=1),
    ]
